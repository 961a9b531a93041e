import type { Store } from './types.js';

/** TEMPORARY (removed when the SQL stores implement sign-in records): every sign-in method throws. */
export function signInNotYet(
  kind: string,
): Pick<
  Store,
  | 'revokeFamilies'
  | 'createUser'
  | 'getUser'
  | 'getUserByEmail'
  | 'listUsers'
  | 'updateUser'
  | 'deleteUser'
  | 'createSession'
  | 'getSessionBySecret'
  | 'getSession'
  | 'touchSession'
  | 'deleteSession'
  | 'deleteUserSessions'
  | 'purgeSessions'
  | 'insertAuthCode'
  | 'redeemAuthCode'
  | 'recordCodeTokens'
  | 'purgeAuthCodes'
  | 'getConsent'
  | 'grantConsent'
  | 'revokeConsent'
  | 'insertPending'
  | 'getPending'
  | 'takePending'
  | 'deletePending'
  | 'purgePending'
> {
  const no = () => Promise.reject(new Error(`${kind} store: sign-in records not implemented yet`));
  return {
    revokeFamilies: no,
    createUser: no,
    getUser: no,
    getUserByEmail: no,
    listUsers: no,
    updateUser: no,
    deleteUser: no,
    createSession: no,
    getSessionBySecret: no,
    getSession: no,
    touchSession: no,
    deleteSession: no,
    deleteUserSessions: no,
    purgeSessions: no,
    insertAuthCode: no,
    redeemAuthCode: no,
    recordCodeTokens: no,
    purgeAuthCodes: no,
    getConsent: no,
    grantConsent: no,
    revokeConsent: no,
    insertPending: no,
    getPending: no,
    takePending: no,
    deletePending: no,
    purgePending: no,
  };
}
