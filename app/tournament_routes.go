package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/tournament"
	"github.com/metastation/metastation/ui"
)

// tournamentService is the Server's tournament (a name server.go can use
// without importing the package).
type tournamentService = tournament.Service

// newTournament builds the tournament service with the server's seed. When
// METASTATION_LLM_URL points at an OpenAI-compatible chat completions
// endpoint (a local model; METASTATION_LLM_MODEL names it), commentary lines
// are rewritten by it, with the templates as the fallback.
func newTournament(ctx context.Context, s *Server) (*tournament.Service, error) {
	cfg := tournament.Config{Seed: uint64(s.cfg.Seed)}
	if u := os.Getenv("METASTATION_LLM_URL"); u != "" {
		cfg.LLM = &tournament.LLM{URL: u, Model: os.Getenv("METASTATION_LLM_MODEL")}
	}
	t, err := tournament.NewService(cfg, s.bus, s.db, s.writer, s.log)
	if err != nil {
		return nil, err
	}
	if s.cfg.TournamentAgent != "" {
		if err := enterAgentFile(t, s.cfg.TournamentAgent); err != nil {
			return nil, fmt.Errorf("--tournament-agent %s: %w", s.cfg.TournamentAgent, err)
		}
	}
	reenterEntrants(ctx, s, t)
	return t, nil
}

// enterAgentFile enters the trading-world checkpoint at path.
func enterAgentFile(t *tournament.Service, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	a, err := loadEntrant(f)
	if err != nil {
		return err
	}
	_, err = t.Enter(a.Maker())
	return err
}

// rememberEntrant records a learner entered through the API, so that the
// next start of the server enters it again.
func rememberEntrant(ctx context.Context, db *store.DB, checkpoint, strategy string) error {
	_, err := db.W.ExecContext(ctx, `INSERT OR REPLACE INTO tournament_entrants (checkpoint, strategy, added_ms) VALUES (?, ?, ?)`,
		checkpoint, strategy, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("remember entrant %s: %w", checkpoint, err)
	}
	return nil
}

// forgetEntrant deletes the remembered learners that play as strategy, so
// that the next start of the server does not enter them again.
func forgetEntrant(ctx context.Context, db *store.DB, strategy string) error {
	if _, err := db.W.ExecContext(ctx, `DELETE FROM tournament_entrants WHERE strategy = ?`, strategy); err != nil {
		return fmt.Errorf("forget entrant %s: %w", strategy, err)
	}
	return nil
}

// reenterEntrants enters again the learners an earlier run of the server
// took through the API. One whose checkpoint no longer loads is skipped with
// a warning: it must not keep the server from starting. One whose checkpoint
// is gone is forgotten too, as it can never come back.
func reenterEntrants(ctx context.Context, s *Server, t *tournament.Service) {
	paths, err := rememberedEntrants(ctx, s.db)
	if err != nil {
		s.log.Warn("tournament: earlier entrants not read", "err", err)
	}
	for _, p := range paths {
		a, status, msg := openEntrant(s.cfg.DataDir, p)
		if a == nil && status == http.StatusNotFound {
			if _, err := s.db.W.ExecContext(ctx, `DELETE FROM tournament_entrants WHERE checkpoint = ?`, p); err != nil {
				s.log.Warn("tournament: earlier entrant with no checkpoint not forgotten", "checkpoint", p, "err", err)
			}
			s.log.Warn("tournament: earlier entrant forgotten", "checkpoint", p, "reason", msg)
			continue
		}
		if a == nil {
			s.log.Warn("tournament: earlier entrant skipped", "checkpoint", p, "reason", msg)
			continue
		}
		if _, err := t.Enter(a.Maker()); err != nil {
			s.log.Warn("tournament: earlier entrant skipped", "checkpoint", p, "err", err)
			continue
		}
		s.log.Info("tournament: earlier entrant entered again", "checkpoint", p, "id", a.ID())
	}
}

// rememberedEntrants lists the checkpoints of the remembered learners, in
// the order they were entered.
func rememberedEntrants(ctx context.Context, db *store.DB) ([]string, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT checkpoint FROM tournament_entrants ORDER BY added_ms, checkpoint`)
	if err != nil {
		return nil, fmt.Errorf("remembered entrants: %w", err)
	}
	defer rows.Close()
	var paths []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return paths, fmt.Errorf("remembered entrants: %w", err)
		}
		paths = append(paths, p)
	}
	if err := rows.Err(); err != nil {
		return paths, fmt.Errorf("remembered entrants: %w", err)
	}
	return paths, nil
}

// entrantMaxBytes caps the checkpoint file an entrant is loaded from (a
// trading-world checkpoint with its replay is about 25 MB).
const entrantMaxBytes = 256 << 20

// loadEntrant reads a trading-world checkpoint (metastation train --env
// trading-ma --algo vdn|qmix) as a tournament entrant.
func loadEntrant(f *os.File) (*marl.TradingAgent, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > entrantMaxBytes {
		return nil, fmt.Errorf("%w: %d MB, more than the %d MB a checkpoint may have", errEntrantTooLarge, fi.Size()>>20, entrantMaxBytes>>20)
	}
	return marl.LoadTradingAgent(io.LimitReader(f, entrantMaxBytes), marl.TradingAgentConfig{})
}

var errEntrantTooLarge = errors.New("the file is too large")

// An entrant's checkpoint is named by its path inside the data directory:
// runs/… for metastation train's checkpoints, marl/run-N/… for the Training
// page's multi-agent runs. These are the two folders it may come from.
const (
	entrantRuns = "runs"
	entrantMARL = "marl"
)

// checkpointEntrant turns the checkpoint a user names (a path inside the
// data directory's runs/ folder) into an entrant path, or explains why not.
func checkpointEntrant(user string) (string, string) {
	const where = "The checkpoint must be a path inside the data directory's runs/ folder, such as vdn-trading-ma-curriculum-seed1/checkpoint.ckpt"
	if user == "" || len(user) > 512 || strings.ContainsRune(user, 0) {
		return "", where + "."
	}
	clean := filepath.Clean(filepath.FromSlash(user))
	if !filepath.IsLocal(clean) {
		return "", where + " (no absolute paths, no ..)."
	}
	return entrantRuns + "/" + filepath.ToSlash(clean), ""
}

// runEntrant turns a multi-agent run of the Training page into an entrant
// path: a finished trading-world QMIX or VDN run, whose checkpoint is kept.
func runEntrant(svc *marl.Service, dataDir string, id int64) (string, int, string) {
	info, err := svc.Get(id)
	switch {
	case errors.Is(err, marl.ErrNotFound):
		return "", http.StatusNotFound, fmt.Sprintf("There is no multi-agent run %d.", id)
	case err != nil:
		return "", http.StatusBadRequest, sentence(err)
	case info.Spec.Env != "trading-ma" || info.Spec.Algo == "maddpg":
		return "", http.StatusBadRequest, fmt.Sprintf("Run %d is %s on %s; only trading-world QMIX or VDN learners can trade in the tournament.", id, info.Spec.Algo, info.Spec.Env)
	case info.Status != "done":
		return "", http.StatusConflict, fmt.Sprintf("Run %d is %s; a learner enters the tournament once its run is done.", id, info.Status)
	}
	rel, err := filepath.Rel(filepath.Join(dataDir, entrantMARL), info.Checkpoint)
	if err != nil || !filepath.IsLocal(rel) {
		return "", http.StatusConflict, fmt.Sprintf("Run %d keeps its checkpoint outside the data directory.", id)
	}
	return entrantMARL + "/" + filepath.ToSlash(rel), 0, ""
}

// openEntrant loads the checkpoint at rel, an entrant path (runs/… or
// marl/…), refusing anything that leaves its folder (symbolic links out of
// it included). It returns the HTTP status and a sentence for the user on
// failure.
func openEntrant(dataDir, rel string) (*marl.TradingAgent, int, string) {
	folder, inside, _ := strings.Cut(rel, "/")
	if folder != entrantRuns && folder != entrantMARL || inside == "" {
		return nil, http.StatusBadRequest, fmt.Sprintf("%s is not a checkpoint an entrant can come from.", rel)
	}
	root, err := os.OpenRoot(filepath.Join(dataDir, folder))
	if err != nil {
		return nil, http.StatusNotFound, "The data directory has no " + folder + "/ folder; train an agent with metastation train --env trading-ma --algo vdn, which writes to runs/."
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(inside))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, http.StatusNotFound, fmt.Sprintf("There is no checkpoint %s in the data directory.", rel)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Sprintf("The checkpoint %s must be a file inside the data directory's %s/ folder.", rel, folder)
	}
	defer f.Close()
	a, err := loadEntrant(f)
	switch {
	case errors.Is(err, errEntrantTooLarge):
		return nil, http.StatusRequestEntityTooLarge, sentence(fmt.Errorf("the file %s: %w", rel, err))
	case err != nil:
		return nil, http.StatusBadRequest, sentence(fmt.Errorf("the file %s is not a trading-world checkpoint this build can enter: %w", rel, err))
	}
	return a, 0, ""
}

// tournamentRoutes adds the tournament's pages and API:
//
//	GET  /tournament                    the leaderboard, votes and commentary
//	GET  /floor                         the 3D trading floor
//	GET  /api/tournament/state          the current snapshot (as on tournament.state)
//	GET  /api/tournament/commentary     ?round=N&limit=50
//	POST /api/tournament/votes          {"round": 3, "strategy": "momentum"}
//	POST /api/tournament/entrants       {"checkpoint": "vdn-trading-ma-curriculum-seed1/checkpoint.ckpt"} or {"run": 3}
//	DELETE /api/tournament/entrants/{strategy}  withdraws an entrant: {"strategy": id, "last_round": N, "gone_from_round": N+1}
//
// An entrant is a trained trading-world learner (app/marl's TradingAgent):
// a checkpoint inside the data directory's runs/ folder, or a finished
// multi-agent run of the Training page. It plays from the next round to
// start (the answer names it). DELETE withdraws it (house strategies
// cannot leave: 400) and forgets it, so a restart does not bring it back:
// it finishes the round in progress, last_round, and plays no round from
// gone_from_round on (withdrawn before its first round, it plays none).
// A learner entered with --tournament-agent comes back at the next start
// while the flag names it.
//
// Votes are protected from cross-site requests by the server's
// cross-origin middleware; the voter is a random id in a signed, HttpOnly,
// SameSite=Strict cookie; each address has a token bucket.
func (s *Server) tournamentRoutes(r chi.Router) {
	t := s.tournament
	if t == nil {
		return
	}
	voters := &voterCookies{t: t}
	limit := newRateLimiter(5, 20)
	var entrantMu sync.Mutex // one checkpoint decoded at a time
	r.Get("/tournament", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, ui.Tournament(s.page("Tournament", "/tournament")))
	})
	r.Get("/floor", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, ui.Floor(s.page("Trading floor", "/floor")))
	})
	r.Get("/api/tournament/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, t.State())
	})
	r.Get("/api/tournament/commentary", func(w http.ResponseWriter, r *http.Request) {
		round, _ := strconv.ParseInt(r.URL.Query().Get("round"), 10, 64)
		n := 50
		if v := r.URL.Query().Get("limit"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
				writeError(w, r, http.StatusBadRequest, "limit must be a number between 1 and 1000.")
				return
			}
		}
		lines, err := t.Commentary(r.Context(), round, n)
		if err != nil {
			s.log.Error("tournament commentary", "err", err)
			writeError(w, r, http.StatusInternalServerError, "The commentary could not be read.")
			return
		}
		writeJSON(w, http.StatusOK, lines)
	})
	r.Post("/api/tournament/votes", func(w http.ResponseWriter, r *http.Request) {
		if !limit.allow(clientAddr(r), time.Now()) {
			writeError(w, r, http.StatusTooManyRequests, "Too many votes from this address; wait a few seconds.")
			return
		}
		var req struct {
			Round    int64  `json:"round"`
			Strategy string `json:"strategy"`
		}
		if !decodeJSON(w, r, &req, `{"round": 3, "strategy": "momentum"}`) {
			return
		}
		client, err := voters.client(w, r)
		if err != nil {
			writeError(w, r, http.StatusForbidden, "Your voter cookie is not valid; clear the site's cookies and vote again.")
			return
		}
		res, err := t.Vote(r.Context(), req.Round, client, req.Strategy)
		if err != nil {
			s.writeTournamentError(w, r, err, "The vote could not be recorded.")
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	r.Post("/api/tournament/entrants", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Checkpoint string `json:"checkpoint"`
			Run        int64  `json:"run"`
		}
		if !decodeJSON(w, r, &req, `{"checkpoint": "vdn-trading-ma-curriculum-seed1/checkpoint.ckpt"} or {"run": 3}`) {
			return
		}
		var rel, msg string
		status := http.StatusBadRequest
		switch {
		case (req.Checkpoint == "") == (req.Run == 0):
			msg = `Name either a checkpoint ({"checkpoint": "vdn-trading-ma-curriculum-seed1/checkpoint.ckpt"}) or a multi-agent run of the Training page ({"run": 3}).`
		case req.Run < 0:
			msg = "A run id is a whole number from 1."
		case req.Run > 0:
			rel, status, msg = runEntrant(s.marl, s.cfg.DataDir, req.Run)
		default:
			rel, msg = checkpointEntrant(req.Checkpoint)
		}
		if rel == "" {
			writeError(w, r, status, msg)
			return
		}
		entrantMu.Lock()
		a, status, msg := openEntrant(s.cfg.DataDir, rel)
		entrantMu.Unlock()
		if a == nil {
			writeError(w, r, status, msg)
			return
		}
		from, err := t.Enter(a.Maker())
		if err != nil {
			s.writeTournamentError(w, r, err, "The entrant could not be added.")
			return
		}
		s.log.Info("tournament: entrant from the API", "checkpoint", rel, "id", a.ID())
		// The entrant plays either way; only the next start would miss it.
		// Not the request's context: a client gone now would lose it.
		if err := rememberEntrant(context.WithoutCancel(r.Context()), s.db, rel, a.ID()); err != nil {
			s.log.Error("tournament entrant", "err", err)
		}
		writeJSON(w, http.StatusCreated, map[string]any{"profile": a.Profile(), "from_round": from})
	})
	r.Delete("/api/tournament/entrants/{strategy}", func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "strategy")
		gone, err := t.Withdraw(id)
		if err != nil {
			s.writeTournamentError(w, r, err, "The entrant could not be withdrawn.")
			return
		}
		if err := forgetEntrant(context.WithoutCancel(r.Context()), s.db, id); err != nil {
			s.log.Error("tournament withdraw", "err", err)
			writeError(w, r, http.StatusInternalServerError, "The entrant was withdrawn, but the server could not forget it: it will be back after a restart.")
			return
		}
		s.log.Info("tournament: entrant withdrawn through the API", "id", id, "gone_from_round", gone)
		writeJSON(w, http.StatusOK, map[string]any{"strategy": id, "last_round": gone - 1, "gone_from_round": gone})
	})
}

// writeTournamentError answers err with its code's status and sentence; an
// internal error is logged and answered with internal, a sentence.
func (s *Server) writeTournamentError(w http.ResponseWriter, r *http.Request, err error, internal string) {
	status := map[errs.Code]int{errs.Invalid: http.StatusBadRequest, errs.NotFound: http.StatusNotFound,
		errs.Conflict: http.StatusConflict, errs.Unavailable: http.StatusUnprocessableEntity}[errs.CodeOf(err)]
	if status == 0 {
		s.log.Error("tournament", "path", r.URL.Path, "err", err)
		writeError(w, r, http.StatusInternalServerError, internal)
		return
	}
	writeError(w, r, status, errs.MessageOf(err))
}

// voterCookieName holds "<id>.<signature>": a random voter id and its
// HMAC-SHA256 under the tournament's key.
const voterCookieName = "ms_voter"

type voterCookies struct {
	t    *tournament.Service
	once sync.Once
	key  []byte
	err  error
}

func (v *voterCookies) sign(id string) string {
	m := hmac.New(sha256.New, v.key)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// client returns the voter's id from its cookie, or sets a new cookie for a
// browser that has none. A cookie with a bad signature is an error.
func (v *voterCookies) client(w http.ResponseWriter, r *http.Request) (string, error) {
	v.once.Do(func() { v.key, v.err = v.t.CookieKey(context.WithoutCancel(r.Context())) })
	if v.err != nil {
		return "", v.err
	}
	if c, err := r.Cookie(voterCookieName); err == nil {
		id, sig, ok := strings.Cut(c.Value, ".")
		if !ok || !hmac.Equal([]byte(sig), []byte(v.sign(id))) {
			return "", errors.New("forged voter cookie")
		}
		return id, nil
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: voterCookieName, Value: id + "." + v.sign(id), Path: "/",
		MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return id, nil
}

// clientAddr is the request's remote IP address.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rateLimiter is a token bucket per address: rate tokens a second up to
// burst.
type rateLimiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate, burst float64) *rateLimiter {
	return &rateLimiter{rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

func (l *rateLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) > 10_000 { // forget idle addresses rather than grow forever
			for k, old := range l.buckets {
				if now.Sub(old.last) > time.Minute {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[addr] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
