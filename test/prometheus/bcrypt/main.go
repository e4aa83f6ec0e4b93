// bcrypt-hash reads a password on standard input (never argv: it would show in ps) and prints its bcrypt hash, for
// the basic_auth_users of the Prometheus web config that the test harness writes (Prometheus accepts only bcrypt there).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	password, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && password == "" {
		fmt.Fprintln(os.Stderr, "bcrypt-hash: no password on standard input")
		os.Exit(2)
	}
	password = strings.TrimRight(password, "\r\n")
	// The lowest cost bcrypt allows: a test password lives for one run, and every request pays the check.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bcrypt-hash:", err)
		os.Exit(1)
	}
	fmt.Println(string(hash))
}
