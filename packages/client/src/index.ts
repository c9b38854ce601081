// Implemented by a later issue; see the README of this package.
export {};
