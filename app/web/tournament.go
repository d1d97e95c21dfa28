package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/time/rate"

	"github.com/metastation/metastation/app/entrant"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/tournament"
)

// The tournament's API. An entrant is a trained trading-world learner
// (app/entrant): a checkpoint inside the data directory's runs/ folder, or a
// finished multi-agent run of the Training page; it plays from the next round
// to start. Withdrawing one (house strategies cannot leave) forgets it, so a
// restart does not bring it back.
//
// Votes are protected from cross-site requests by the cross-origin
// middleware; the voter is a random id in a signed, HttpOnly,
// SameSite=Strict cookie; each address has a token bucket. A client without
// the cookie gets one (GET .../votes/mine, or a vote answered 428), and only
// a vote sent with it counts, so one voter is one vote.

// tournamentState answers the current snapshot, as on tournament.state.
func tournamentState(t *tournament.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, t.State())
	}
}

// tournamentCommentary answers ?round=N&limit=50 lines of commentary.
func tournamentCommentary(t *tournament.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
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
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, lines)
	}
}

// tournamentMyVote answers this browser's vote: {"round": 3, "strategy":
// "momentum"} ("" for none), setting a voter cookie when it has none.
func tournamentMyVote(t *tournament.Service, voters *voterCookies) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		client, _, err := voters.client(w, r)
		if err != nil {
			writeError(w, r, http.StatusForbidden, "Your voter cookie is not valid; clear the site's cookies and vote again.")
			return
		}
		round, pick := t.MyVote(client)
		writeJSON(w, http.StatusOK, map[string]any{"round": round, "strategy": pick})
	}
}

// tournamentVote records {"round": 3, "strategy": "momentum"}.
// vote casts a vote: the tournament's own, or, in cluster mode, a
// replicated one (app.App.CastVote).
type vote func(ctx context.Context, round int64, voter, strategy string) (tournament.VoteResult, error)

func tournamentVote(castVote vote, voters *voterCookies, limit *rateLimiter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
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
		if req.Round < 1 || req.Strategy == "" {
			writeError(w, r, http.StatusBadRequest, `A vote names the round (a number from 1) and the strategy, like {"round": 3, "strategy": "momentum"}.`)
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
		res, err := castVote(r.Context(), req.Round, client, req.Strategy)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}

// tournamentEnter enters a learner: {"checkpoint": "..."} or {"run": 3}.
func tournamentEnter(entrants *entrant.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req entrant.Request
		if !decodeJSON(w, r, &req, `{"checkpoint": "vdn-trading-ma-curriculum-seed1/checkpoint.ckpt"} or {"run": 3}`) {
			return
		}
		in, err := entrants.Enter(r.Context(), req)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, in)
	}
}

// tournamentWithdraw withdraws an entrant: {"strategy": id, "last_round": N,
// "gone_from_round": N+1}.
func tournamentWithdraw(entrants *entrant.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out, err := entrants.Withdraw(r.Context(), chi.URLParam(r, "strategy"))
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// voterCookieName holds "<id>.<signature>": a random voter id and its
// HMAC-SHA256 under the web layer's key (voterSecret).
const voterCookieName = "ms_voter"

// voterSecret names the key that signs voter cookies (store.DB.Secret).
const voterSecret = "voter_cookie"

// newVoterCookies signs with the database's voter-cookie key, read once.
func newVoterCookies(db *store.DB) *voterCookies {
	return &voterCookies{secret: func(ctx context.Context) ([]byte, error) { return db.Secret(ctx, voterSecret) }}
}

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

// rateLimiter gives each address its own token bucket
// (golang.org/x/time/rate, as the hub's admission does): rate tokens a
// second up to burst.
type rateLimiter struct {
	mu      sync.Mutex
	rate    rate.Limit
	burst   int
	buckets map[string]*addressBucket
}

type addressBucket struct {
	lim  *rate.Limiter
	last time.Time // last request, to forget idle addresses
}

func newRateLimiter(perSecond float64, burst int) *rateLimiter {
	return &rateLimiter{rate: rate.Limit(perSecond), burst: burst, buckets: map[string]*addressBucket{}}
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
		b = &addressBucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[addr] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}
