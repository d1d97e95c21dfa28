package web

import (
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
	}
	return http.StatusInternalServerError
}

// writeAppError answers err with its code's status and sentence. An
// internal error is logged with the request's path and answered with the
// generic sentence: its detail is for the log, not for the page.
func writeAppError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := errs.CodeOf(err)
	if code == errs.Internal {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, r, statusOf(code), errs.MessageOf(err))
}
