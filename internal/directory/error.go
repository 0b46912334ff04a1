package directory

import (
	"errors"
	"fmt"
)

// Error codes carried by [Error]. Each door maps them to its own status codes
// in one table (SCIM, the REST API, the console).
const (
	EINVALID      = "invalid"      // the request is malformed or violates a rule
	ENOTFOUND     = "not_found"    // the thing does not exist in this workspace
	ECONFLICT     = "conflict"     // uniqueness or a concurrent change
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed
	EUNAUTHORIZED = "unauthorized" // not authenticated
	EPRECONDITION = "precondition" // an expected version did not match
	EIMMUTABLE    = "immutable"    // the value cannot be changed by this caller
	EINTERNAL     = "internal"     // everything else
)

// Error is a domain error: a code a door can map to a status, and a message
// safe to show to the caller. The cause, if any, is kept for logs only.
type Error struct {
	Code    string
	Message string
	// Field names the attribute the error is about, when there is one
	// (for example "userName"), so protocol doors can be precise.
	Field string
	cause error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.cause }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf is Errorf with the attribute the error concerns.
func FieldErrorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error that shows message to callers and keeps cause for logs.
func Wrap(code string, cause error, message string) *Error {
	return &Error{Code: code, Message: message, cause: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for nil
// and EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the public message of err: the message of the first
// *Error in its chain, or a generic text for internal errors, whose details
// must not reach a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}

// ErrNotFound and ErrConflict are returned by stores. The service turns them
// into *Error values with messages that name the thing concerned.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)
