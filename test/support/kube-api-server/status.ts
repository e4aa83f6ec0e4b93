// metav1.Status error bodies with the wording kube-apiserver uses, so kubectl prints what a user would see.
import type { ApiResource } from './resources';
import { qualifiedKind, qualifiedResource } from './resources';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
  code: number;
}

export class ApiError extends Error {
  constructor(readonly body: StatusBody) {
    super(body.message);
  }
  get code(): number {
    return this.body.code;
  }
}

function failure(code: number, reason: string, message: string, details?: StatusBody['details']): ApiError {
  return new ApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  });
}

function resourceDetails(resource: ApiResource, name: string | undefined): StatusBody['details'] {
  return { ...(name ? { name } : {}), ...(resource.group ? { group: resource.group } : {}), kind: resource.resource };
}

export function notFound(resource: ApiResource, name: string): ApiError {
  return failure(404, 'NotFound', `${qualifiedResource(resource)} "${name}" not found`, resourceDetails(resource, name));
}

export function pathNotFound(): ApiError {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function alreadyExists(resource: ApiResource, name: string): ApiError {
  return failure(409, 'AlreadyExists', `${qualifiedResource(resource)} "${name}" already exists`, resourceDetails(resource, name));
}

export function conflict(resource: ApiResource, name: string): ApiError {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    resourceDetails(resource, name),
  );
}

export function unauthorized(): ApiError {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export function forbidden(resource: ApiResource, name: string | undefined, user: string, verb: string, namespace: string | undefined): ApiError {
  const subject = name ? `${qualifiedResource(resource)} "${name}"` : qualifiedResource(resource);
  const scope = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
  return failure(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource.resource}" in API group "${resource.group}"${scope}`,
    resourceDetails(resource, name),
  );
}

/** What errors.NewInvalid produces: one cause per field error, the message joining them. */
export function invalid(resource: ApiResource | undefined, name: string, causes: StatusCause[]): ApiError {
  const fieldErrors = causes.map((c) => `${c.field ?? ''}: ${c.message}`);
  const joined = fieldErrors.length === 1 ? fieldErrors[0] : `[${fieldErrors.join(', ')}]`;
  const kind = resource ? qualifiedKind(resource) : '';
  return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${joined}`, {
    ...(name ? { name } : {}),
    ...(resource?.group ? { group: resource.group } : {}),
    ...(resource ? { kind: resource.kind } : {}),
    causes,
  });
}

export function invalidValue(field: string, value: string, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field };
}

/**
 * A JSON patch that cannot be applied (a failed `test` op, a missing path): kube-apiserver answers with
 * NewGenericServerResponse(422, ...), which drops the json-patch library's text ("testing value /x failed")
 * and keeps only this generic message, with empty details.
 */
export function patchNotApplicable(): ApiError {
  return failure(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

export function badRequest(message: string): ApiError {
  return failure(400, 'BadRequest', message);
}

export function unsupportedMediaType(contentType: string): ApiError {
  return failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${contentType})`);
}

export function methodNotAllowed(): ApiError {
  return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function internalError(detail: string, code = 500): ApiError {
  return failure(code, 'InternalError', `Internal error occurred: ${detail}`, { causes: [{ message: detail }] });
}
