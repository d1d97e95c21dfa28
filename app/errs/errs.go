// Package errs is the application's one error type: a code that says what
// kind of failure it is and a sentence a person can act on. Domain packages
// return *Error for failures a user causes or should see; the web layer maps
// the code to an HTTP status in one place, and shows an internal error only as
// a generic sentence (logging the detail).
//
// It follows WTF Dial's error.go: codes are few and about the caller's
// situation, not about HTTP.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Code is the kind of a failure.
type Code string

// The codes. Each maps to one HTTP status in app/web.
const (
	Invalid     Code = "invalid"     // the request is malformed or out of range (400)
	NotFound    Code = "not_found"   // the thing asked for does not exist (404)
	Conflict    Code = "conflict"    // the request clashes with the current state (409)
	Unavailable Code = "unavailable" // the thing exists but cannot be done now (422/503)
	TooLarge    Code = "too_large"   // the upload or file is over its size cap (413)
	NoSpace     Code = "no_space"    // the disk holding the data directory is full (507)
	Busy        Code = "busy"        // the server runs as many of these as it may at once; ask again shortly (503)
	Internal    Code = "internal"    // a bug or an outside failure (500)
)

// InternalMessage is what a person sees of an internal error.
const InternalMessage = "Something went wrong on our side; the log has the details."

// Error is an application error: a code and a sentence. Err, when set, is
// the cause, kept for the log and for errors.Is/As; it is never shown.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error returns the message, with the cause after it when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + " (" + e.Err.Error() + ")"
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an error with code and a message formatted as a sentence:
// first letter capitalised, ending with a full stop. A %w verb in format
// wraps the cause as fmt.Errorf does, and the cause's text stays in the
// message; use Wrap to keep the cause out of the message.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: sentence(err.Error()), Err: errors.Unwrap(err)}
}

// Wrap returns an error with code and message whose cause is err (for the
// log; a person sees only the message).
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: sentence(fmt.Sprintf(format, args...)), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, Internal when
// there is none, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// MessageOf returns the sentence to show a person: the message of the first
// *Error in err's chain, or InternalMessage for an internal error.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return InternalMessage
}

// sentence capitalises s and ends it with a full stop (or ? or !).
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "Something went wrong."
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	switch s[len(s)-1] {
	case '.', '?', '!':
		return s
	}
	return s + "."
}
