package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/metastation/metastation/app/errs"
)

// statusOf is the one mapping from an application error's code to its HTTP
// status.
func statusOf(code errs.Code) int {
	switch code {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unavailable:
		return http.StatusUnprocessableEntity
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.NoSpace:
		return http.StatusInsufficientStorage
	case errs.Busy:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// busyRetryAfter is the Retry-After, in seconds, of a 503 at a cap on work
// running at once.
const busyRetryAfter = "5"

// writeAppError answers err with its code's status and sentence. An
// internal error is logged with the request's path and answered with the
// generic sentence: its detail is for the log, not for the page.
func writeAppError(w http.ResponseWriter, r *http.Request, err error) {
	code := errs.CodeOf(err)
	if code == errs.Internal {
		logOf(r.Context()).Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == errs.Busy {
		// A cap on work running at once frees up as the work ends: say
		// when a client may try again (RFC 9110, 10.2.3).
		w.Header().Set("Retry-After", busyRetryAfter)
	}
	writeError(w, r, statusOf(code), errs.MessageOf(err))
}

// sentenceOf is err as a sentence for a caller who made a mistake: the
// message of an application error, or any other error's text made a
// sentence (a parse error, say).
func sentenceOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return errs.Errorf(errs.Invalid, "%v", err).Message
}

type logKey struct{}

// withLog makes log the logger of every request's handlers.
func withLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), logKey{}, log)))
		})
	}
}

// logOf returns the request's logger (withLog), or the default one.
func logOf(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
