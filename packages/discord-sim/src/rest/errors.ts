import { RESTJSONErrorCodes } from 'discord-api-types/v10';

/** What a route answers: a status, a JSON body (none for 204) and extra headers. */
export interface RestResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Discord's JSON error: `{ message, code }`, plus `errors` for form validation. */
export function restError(status: number, code: number, message: string, errors?: unknown): RestResult {
  return { status, body: errors === undefined ? { message, code } : { message, code, errors } };
}

export const RestErrors = {
  unauthorized: () => restError(401, 0, '401: Unauthorized'),
  notFound: () => restError(404, 0, '404: Not Found'),
  methodNotAllowed: () => restError(405, 0, '405: Method Not Allowed'),
  invalidJson: () =>
    restError(
      400,
      RESTJSONErrorCodes.RequestBodyContainsInvalidJSON,
      'The request body contains invalid JSON.',
    ),
  unknownInteraction: () => restError(404, RESTJSONErrorCodes.UnknownInteraction, 'Unknown interaction'),
  alreadyAcknowledged: () =>
    restError(
      400,
      RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged,
      'Interaction has already been acknowledged.',
    ),
  unknownWebhook: () => restError(404, RESTJSONErrorCodes.UnknownWebhook, 'Unknown Webhook'),
  unknownChannel: () => restError(404, RESTJSONErrorCodes.UnknownChannel, 'Unknown Channel'),
  unknownGuild: () => restError(404, RESTJSONErrorCodes.UnknownGuild, 'Unknown Guild'),
  unknownApplication: () => restError(404, RESTJSONErrorCodes.UnknownApplication, 'Unknown Application'),
  unknownMessage: () => restError(404, RESTJSONErrorCodes.UnknownMessage, 'Unknown Message'),
  emptyMessage: () =>
    restError(400, RESTJSONErrorCodes.CannotSendAnEmptyMessage, 'Cannot send an empty message'),
  /** 50035 Invalid Form Body with Discord's nested `errors` object for one field. */
  invalidForm: (field: string, code: string, message: string) => {
    const errors: Record<string, unknown> = {};
    let node = errors;
    const parts = field.split('.');
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = { _errors: [{ code, message }] };
      else {
        const next: Record<string, unknown> = {};
        node[part] = next;
        node = next;
      }
    });
    return restError(400, RESTJSONErrorCodes.InvalidFormBodyOrContentType, 'Invalid Form Body', errors);
  },
};
