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
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/entrant"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/tournament"
	"github.com/metastation/metastation/ui"
)

// tournamentService is the Server's tournament (a name server.go can use
// without importing the package).
type tournamentService = tournament.Service

// newTournament builds the tournament service with the server's seed. When
// METASTATION_LLM_URL points at an OpenAI-compatible chat completions
// endpoint (a local model; METASTATION_LLM_MODEL names it), commentary lines
// are rewritten by it, with the templates as the fallback. The learner
// --tournament-agent names and those entered through the API before are
// entered.
func newTournament(ctx context.Context, s *Server) (*tournament.Service, error) {
	cfg := tournament.Config{Seed: uint64(s.cfg.Seed)}
	if u := os.Getenv("METASTATION_LLM_URL"); u != "" {
		cfg.LLM = &tournament.LLM{URL: u, Model: os.Getenv("METASTATION_LLM_MODEL")}
	}
	t, err := tournament.NewService(cfg, s.bus, s.db, s.writer, s.log)
	if err != nil {
		return nil, err
	}
	entrants := entrant.NewService(s.cfg.DataDir, s.db, t, nil, s.log)
	if s.cfg.TournamentAgent != "" {
		if err := entrants.EnterFile(s.cfg.TournamentAgent); err != nil {
			return nil, fmt.Errorf("--tournament-agent %s: %w", s.cfg.TournamentAgent, err)
		}
	}
	entrants.Reenter(ctx)
	return t, nil
}

// serverRuns finds the server's multi-agent runs at the time of a request
// (tests replace s.marl after NewServer).
type serverRuns struct{ s *Server }

func (r serverRuns) Get(id int64) (marl.RunInfo, error) { return r.s.marl.Get(id) }

// tournamentRoutes adds the tournament's pages and API:
//
//	GET  /tournament                    the leaderboard, votes and commentary
//	GET  /floor                         the 3D trading floor
//	GET  /api/tournament/state          the current snapshot (as on tournament.state)
//	GET  /api/tournament/commentary     ?round=N&limit=50
//	GET  /api/tournament/votes/mine     this browser's vote: {"round": 3, "strategy": "momentum"} ("" for none)
//	POST /api/tournament/votes          {"round": 3, "strategy": "momentum"}
//	POST /api/tournament/entrants       {"checkpoint": "vdn-trading-ma-curriculum-seed1/checkpoint.ckpt"} or {"run": 3}
//	DELETE /api/tournament/entrants/{strategy}  withdraws an entrant: {"strategy": id, "last_round": N, "gone_from_round": N+1}
//
// An entrant is a trained trading-world learner (app/entrant's TradingAgent):
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
// SameSite=Strict cookie; each address has a token bucket. A client without
// the cookie gets one (GET .../votes/mine, or a vote answered 428), and only
// a vote sent with it counts, so one voter is one vote.
func (s *Server) tournamentRoutes(r chi.Router) {
	t := s.tournament
	if t == nil {
		return
	}
	voters := &voterCookies{secret: func(ctx context.Context) ([]byte, error) { return s.db.Secret(ctx, voterSecret) }}
	limit := newRateLimiter(5, 20)
	entrants := entrant.NewService(s.cfg.DataDir, s.db, t, serverRuns{s}, s.log)
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
	r.Get("/api/tournament/votes/mine", func(w http.ResponseWriter, r *http.Request) {
		client, _, err := voters.client(w, r)
		if err != nil {
			writeError(w, r, http.StatusForbidden, "Your voter cookie is not valid; clear the site's cookies and vote again.")
			return
		}
		round, pick := t.MyVote(client)
		writeJSON(w, http.StatusOK, map[string]any{"round": round, "strategy": pick})
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
		client, fresh, err := voters.client(w, r)
		switch {
		case err != nil:
			writeError(w, r, http.StatusForbidden, "Your voter cookie is not valid; clear the site's cookies and vote again.")
			return
		case fresh:
			// One vote per voter: a client without the cookie gets one, and
			// its vote counts when it sends it again with the cookie.
			writeError(w, r, http.StatusPreconditionRequired, "This browser had no voter cookie; it has one now, so send the vote again.")
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
		var req entrant.Request
		if !decodeJSON(w, r, &req, `{"checkpoint": "vdn-trading-ma-curriculum-seed1/checkpoint.ckpt"} or {"run": 3}`) {
			return
		}
		in, err := entrants.Enter(r.Context(), req)
		if err != nil {
			s.writeTournamentError(w, r, err, "The entrant could not be added.")
			return
		}
		writeJSON(w, http.StatusCreated, in)
	})
	r.Delete("/api/tournament/entrants/{strategy}", func(w http.ResponseWriter, r *http.Request) {
		out, err := entrants.Withdraw(r.Context(), chi.URLParam(r, "strategy"))
		if err != nil {
			s.writeTournamentError(w, r, err, "The entrant could not be withdrawn.")
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// writeTournamentError answers err with its code's status and sentence; an
// internal error is logged and answered with internal, a sentence.
func (s *Server) writeTournamentError(w http.ResponseWriter, r *http.Request, err error, internal string) {
	status := map[errs.Code]int{errs.Invalid: http.StatusBadRequest, errs.NotFound: http.StatusNotFound,
		errs.Conflict: http.StatusConflict, errs.Unavailable: http.StatusUnprocessableEntity}[errs.CodeOf(err)]
	if errors.Is(err, entrant.ErrTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	if status == 0 {
		s.log.Error("tournament", "path", r.URL.Path, "err", err)
		writeError(w, r, http.StatusInternalServerError, internal)
		return
	}
	writeError(w, r, status, errs.MessageOf(err))
}

// voterCookieName holds "<id>.<signature>": a random voter id and its
// HMAC-SHA256 under the web layer's key (voterSecret).
const voterCookieName = "ms_voter"

// voterSecret names the key that signs voter cookies (store.DB.Secret).
const voterSecret = "voter_cookie"

type voterCookies struct {
	secret func(context.Context) ([]byte, error)
	once   sync.Once
	key    []byte
	err    error
}

func (v *voterCookies) sign(id string) string {
	m := hmac.New(sha256.New, v.key)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// client returns the voter's id from its cookie, or sets a new cookie for a
// client that has none (fresh). A cookie with a bad signature is an error.
func (v *voterCookies) client(w http.ResponseWriter, r *http.Request) (id string, fresh bool, err error) {
	v.once.Do(func() { v.key, v.err = v.secret(context.WithoutCancel(r.Context())) })
	if v.err != nil {
		return "", false, v.err
	}
	if c, err := r.Cookie(voterCookieName); err == nil {
		id, sig, ok := strings.Cut(c.Value, ".")
		if !ok || !hmac.Equal([]byte(sig), []byte(v.sign(id))) {
			return "", false, errors.New("forged voter cookie")
		}
		return id, false, nil
	}
	b := make([]byte, 16)
	rand.Read(b)
	id = hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: voterCookieName, Value: id + "." + v.sign(id), Path: "/",
		MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return id, true, nil
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
