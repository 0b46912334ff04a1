package scim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"rollcall/internal/directory"
	"rollcall/internal/scim/filter"
	"rollcall/internal/scim/patch"
	"rollcall/internal/scim/schema"
)

// Error is an RFC 7644 §3.12 error: an HTTP status, an optional scimType
// and a detail a human can act on.
type Error struct {
	Status   int
	ScimType string
	Detail   string
	cause    error
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := strconv.Itoa(e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	return s + ": " + e.Detail
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.cause }

func errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// scimTypes used by Rollcall (RFC 7644 §3.12, Table 9).
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
	typeInvalidVers   = "invalidVers"
)

// asError turns any error into an *Error: the one place where domain,
// schema and parser errors get their SCIM status and scimType. Internal
// errors keep their cause for the log and show a generic detail.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var pe *patch.Error
	if errors.As(err, &pe) {
		return &Error{Status: http.StatusBadRequest, ScimType: pe.ScimType, Detail: pe.Detail, cause: err}
	}
	var ve *schema.ValueError
	if errors.As(err, &ve) {
		return &Error{Status: http.StatusBadRequest, ScimType: ve.ScimType(), Detail: ve.Error(), cause: err}
	}
	var se *filter.SyntaxError
	if errors.As(err, &se) {
		return &Error{Status: http.StatusBadRequest, ScimType: typeInvalidFilter, Detail: se.Error(), cause: err}
	}
	var re *filter.ResolveError
	if errors.As(err, &re) {
		return &Error{Status: http.StatusBadRequest, ScimType: typeInvalidFilter, Detail: re.Error(), cause: err}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit), cause: err}
	}
	var de *directory.Error
	if errors.As(err, &de) {
		out := &Error{Detail: de.Message, cause: err}
		switch de.Code {
		case directory.EINVALID:
			out.Status, out.ScimType = http.StatusBadRequest, typeInvalidValue
			if de.Field == "filter" {
				out.ScimType = typeInvalidFilter // a filter the store cannot compile
			}
		case directory.EIMMUTABLE:
			out.Status, out.ScimType = http.StatusBadRequest, typeMutability
		case directory.ENOTFOUND:
			out.Status = http.StatusNotFound
		case directory.ECONFLICT:
			out.Status = http.StatusConflict
			if de.Field != "" {
				out.ScimType = typeUniqueness
			}
		case directory.EPRECONDITION:
			out.Status = http.StatusPreconditionFailed
		case directory.EUNAUTHORIZED:
			out.Status = http.StatusUnauthorized
		case directory.EFORBIDDEN:
			out.Status = http.StatusForbidden
		default:
			out.Status, out.Detail = http.StatusInternalServerError, "internal error"
		}
		return out
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "internal error", cause: err}
}
