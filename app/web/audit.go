package web

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/ui"
)

// auditKeep is how many rows the audit log keeps; older ones are pruned.
const auditKeep = 100_000

// audit records every state-changing request (who, what, when, and how it
// was answered) in the audit_log table through the batching writer. It
// never blocks a request: when the writer's queue is full the row is
// dropped and counted in the writer's rejected rows.
func audit(w *store.Writer, log *slog.Logger) func(http.Handler) http.Handler {
	var n atomic.Int64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			default:
				next.ServeHTTP(rw, r)
				return
			}
			ww := middleware.NewWrapResponseWriter(rw, r.ProtoMajor)
			start := time.Now()
			next.ServeHTTP(ww, r)
			voter := ""
			if c, err := r.Cookie(voterCookieName); err == nil {
				h := sha256.Sum256([]byte(c.Value))
				voter = hex.EncodeToString(h[:4]) // enough to tell voters apart, not to be one
			}
			if !w.TryEnqueue(`INSERT INTO audit_log (ts, method, path, status, client, voter, dur_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				start.UnixMilli(), r.Method, cutTo(r.URL.Path, 300), ww.Status(), clientAddr(r), voter,
				float64(time.Since(start).Microseconds())/1000) {
				log.Warn("audit: writer queue full, row dropped", "method", r.Method, "path", r.URL.Path)
			}
			if n.Add(1)%1000 == 0 { // prune now and then

				w.TryEnqueue(`DELETE FROM audit_log WHERE id <= (SELECT max(id) FROM audit_log) - ?`, auditKeep)
			}
		})
	}
}

func cutTo(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// auditRows reads the newest limit rows of the audit log.
func auditRows(r *http.Request, db *store.DB, limit int) ([]ui.AuditRow, error) {
	rows, err := db.R.QueryContext(r.Context(),
		`SELECT ts, method, path, status, client, voter, dur_ms FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ui.AuditRow
	for rows.Next() {
		var a ui.AuditRow
		var ts int64
		if err := rows.Scan(&ts, &a.Method, &a.Path, &a.Status, &a.Client, &a.Voter, &a.DurMS); err != nil {
			return nil, err
		}
		a.Time = time.UnixMilli(ts).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// auditLimit reads ?limit= (1 to 1000, default 200).
func auditLimit(r *http.Request) (int, bool) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 200, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= 1000
}

// auditList answers GET /api/audit: the newest state-changing requests.
func auditList(db *store.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, ok := auditLimit(r)
		if !ok {
			writeError(w, r, http.StatusBadRequest, "The limit must be a whole number from 1 to 1000.")
			return
		}
		rows, err := auditRows(r, db, limit)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"rows": rows})
	}
}

// auditPage serves /audit: the newest 200 state-changing requests.
func auditPage(p *pages, db *store.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rows, err := auditRows(r, db, 200)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		p.render(w, r, ui.Audit(p.page("Audit log", "/audit"), rows))
	}
}
