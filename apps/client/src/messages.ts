// Sentences both apps show a person, so the web and the phone say the same thing.
import type { ApiError } from './errors.ts';
import type { MemberRole } from './generated/graphql.ts';
import type { SessionEnd } from './session.ts';

export function roleLabel(role: MemberRole | null | undefined): string {
  switch (role) {
    case 'OWNER':
      return 'Owner';
    case 'EDITOR':
      return 'Editor';
    case 'VIEWER':
      return 'Viewer';
    default:
      return 'Member';
  }
}

/** Why the session ended, when the server ended it (null: the person signed out). */
export function sessionEndMessage(end: SessionEnd | undefined): string | null {
  if (!end || end.kind === 'signed-out') return null;
  if (end.reason === 'REFRESH_TOKEN_REUSED') return 'Your session was ended because it was used from somewhere else. Sign in again.';
  return 'Your session has ended. Sign in again.';
}

/** A refused sign-in in a person's words. */
export function signInErrorMessage(e: ApiError): string {
  if (e.code === 'UNAUTHENTICATED') return 'Wrong email or password.';
  if (e.code === 'BAD_USER_INPUT') return 'Enter your email and password.';
  return e.userMessage;
}

/** A refused sign-up in a person's words (field errors are shown beside their fields). */
export function signUpErrorMessage(e: ApiError): string {
  if (e.reason === 'SIGNUP_DISABLED') return 'This platform does not take sign-ups: ask an administrator for an account.';
  if (e.reason === 'EMAIL_TAKEN') return 'An account with this email exists already: sign in instead.';
  return e.userMessage;
}
