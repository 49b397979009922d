// @ts-check
// The demo's user list. Passwords come from the environment when set
// (CHAT_PASSWORD_ALICE, CHAT_PASSWORD_BOB); the defaults are for local demos only.

/** @typedef {{ id: string, username: string, password: string }} User */

/** @type {User[]} */
export const USERS = [
  { id: '1', username: 'alice', password: process.env.CHAT_PASSWORD_ALICE ?? 'alice' },
  { id: '2', username: 'bob', password: process.env.CHAT_PASSWORD_BOB ?? 'bob' },
];

/** @param {string} username @param {string} password @returns {User | undefined} */
export function checkPassword(username, password) {
  return USERS.find((u) => u.username === username && u.password === password);
}

/** @param {string} id @returns {User | undefined} */
export function findUser(id) {
  return USERS.find((u) => u.id === id);
}
