// Package deptest holds tests about the project's dependencies; it has no
// code of its own.
package deptest
