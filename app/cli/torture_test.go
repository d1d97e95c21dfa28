package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the test reads the killed server's database itself

	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/runs"
	"github.com/metastation/metastation/app/synth/jobs"
)

// TestCrashTorture builds the real binary and kills its server with SIGKILL
// at seeded random points (issue 21 item 3). There are three scenarios, each
// in its own life of the server:
//
//   - data: a synthetic transactions job writes (10,000,000 rows with
//     METASTATION_LONG=1); from the second data life on, the job the last
//     kill interrupted is run again (rerun), which is how a person resumes it;
//   - votes: 8 voters on 8 loopback addresses cast votes over HTTP in the
//     open round;
//   - training: a PPO run and a multi-agent (VDN, spread) run train; every
//     other training life resumes the newest resumable ones instead, so the
//     server loads the checkpoints the last kill may have cut.
//
// After every kill it checks the database the dead server left (PRAGMA
// integrity_check), restarts the server on the same data directory and
// checks that every vote the client got a 200 for is in the database, every
// job the server acknowledged is listed and is done with its whole file or
// cleanly interrupted (never left running), every acknowledged run is
// listed and stopped/resumable or cleanly failed, every checkpoint on disk
// loads, and a killed multi-agent run's episodes are those of a checkpoint
// (it once came back "episodes 0 of 20000" with its curve at 1,122).
//
// One kill per scenario by default, with a 200,000-row job; METASTATION_LONG=1
// runs 20 per scenario (60 lives) with a 10,000,000-row job (some GB of disk:
// checked first). METASTATION_TORTURE_KILLS sets the kills per scenario and
// METASTATION_TORTURE_SEED replays a failing run's kill points.
func TestCrashTorture(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and restarts the server; not in -short")
	}
	kills, rows, maxDelay := 1, 200_000, 4*time.Second
	if os.Getenv("METASTATION_LONG") == "1" {
		kills, rows, maxDelay = 20, 10_000_000, 20*time.Second
	}
	if v := os.Getenv("METASTATION_TORTURE_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("METASTATION_TORTURE_KILLS=%q: want a number from 1", v)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("METASTATION_TORTURE_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("METASTATION_TORTURE_SEED=%q: %v", v, err)
		}
		seed = s
	}
	t.Logf("crash torture: seed %d (METASTATION_TORTURE_SEED=%d replays the kill points), %d kills per scenario, %d-row jobs", seed, seed, kills, rows)
	rng := rand.New(rand.NewPCG(seed, 0x7047))

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if need := int64(rows) * 400; freeBytes(t, dir) < need {
		t.Skipf("the crash torture needs about %d MB free under %s for its %d-row jobs", need>>20, dir, rows)
	}
	bin := buildBinary(t, dir)
	began := time.Now()
	acked := &ackedState{}
	var totalVotes, totalJobs, totalRuns, trainLives int
	scenarios := []struct {
		name string
		// run does the life's work until ctx ends; it closes ready when
		// the random delay to the kill may start.
		run func(ctx context.Context, srv *server, life int, ready chan<- struct{})
	}{
		{"data", func(ctx context.Context, srv *server, life int, ready chan<- struct{}) {
			close(ready)
			if id := acked.dataJob(t, srv, rows, rng.Uint64N(1_000_000)+1); id != "" {
				acked.addJob(id)
				totalJobs++
			}
		}},
		{"votes", func(ctx context.Context, srv *server, life int, ready chan<- struct{}) {
			close(ready)
			votes := srv.castVotes(ctx, 8)
			acked.addVotes(votes)
			totalVotes += len(votes)
		}},
		{"training", func(ctx context.Context, srv *server, life int, ready chan<- struct{}) {
			trainLives++
			// Every fourth training life (the first among them) is killed
			// only after a multi-agent checkpoint has been on disk for
			// floorMargin, so that the "episodes 0 of 20000" check has a
			// floor to hold even in the short default; the others are
			// killed at any point, before the first checkpoint too.
			if trainLives%4 == 1 {
				go func() { acked.waitMARLCheckpoint(ctx); time.Sleep(floorMargin); close(ready) }()
			} else {
				close(ready)
			}
			var wg sync.WaitGroup
			if trainLives%2 == 0 && (acked.resumable != 0 || acked.marlResumable != 0) {
				for _, kind := range []struct {
					path string
					id   int64
				}{{"rl", acked.resumable}, {"marl", acked.marlResumable}} {
					if kind.id == 0 {
						continue
					}
					wg.Go(func() {
						var info rl.RunInfo
						if code := srv.do(http.DefaultClient, "POST", fmt.Sprintf("/api/%s/runs/%d/resume", kind.path, kind.id), nil, &info); code != http.StatusAccepted && code != 0 { // 0: killed before it answered
							t.Errorf("life %d: resuming %s run %d answered %d", life, kind.path, kind.id, code)
						}
					})
				}
			} else {
				runSeed := rng.Uint64N(1_000_000) + 1
				wg.Go(func() {
					if id := srv.startRun(t, runSeed); id != 0 {
						acked.addRun(id)
						totalRuns++
					}
				})
				wg.Go(func() {
					if id := srv.startMARLRun(runSeed); id != 0 {
						acked.addMARLRun(id)
						totalRuns++
					}
				})
			}
			wg.Go(func() { acked.sampleMARLCheckpoints(ctx, data) })
			wg.Wait()
		}},
	}
	life := 0
	for kill := 1; kill <= kills; kill++ {
		for _, sc := range scenarios {
			life++
			srv := startServer(t, bin, data)
			// Every restart checks all that was acknowledged before.
			acked.check(t, srv, data, life)
			acked.bornAt(time.Now())
			delay := time.Duration(rng.Int64N(int64(maxDelay-200*time.Millisecond))) + 200*time.Millisecond
			ctx, stop := context.WithCancel(context.Background())
			done, ready := make(chan struct{}), make(chan struct{})
			go func() { sc.run(ctx, srv, life, ready); close(done) }()
			<-ready
			time.Sleep(delay)
			acked.killedAt(time.Now())
			srv.kill(t)
			stop()
			<-done
			t.Logf("life %d (%s, kill %d of %d): killed after %v", life, sc.name, kill, kills, delay.Round(time.Millisecond))
			integrity(t, data, life)
		}
	}
	srv := startServer(t, bin, data)
	acked.check(t, srv, data, life+1)
	srv.kill(t)
	t.Logf("crash torture: %d lives (%d kills × 3 scenarios) in %v, %d acknowledged votes, %d jobs, %d runs (rl and marl), %d multi-agent episode floors checked, lost 0, integrity ok every time",
		life, kills, time.Since(began).Round(time.Second), totalVotes, totalJobs, totalRuns, acked.floorsChecked)
}

// freeBytes is the free space of the disk holding dir.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	out, err := exec.Command("df", "-Pk", dir).Output()
	if err != nil {
		t.Logf("df: %v; assuming room", err)
		return 1 << 62
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 4 {
		return 1 << 62
	}
	kb, _ := strconv.ParseInt(f[3], 10, 64)
	return kb << 10
}

// buildBinary builds the metastation command into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "metastation")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/metastation/metastation")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

type server struct {
	cmd  *exec.Cmd
	base string
	log  *bytes.Buffer
}

// startServer serves data on a free loopback port and waits (generously:
// CI machines are busy) for /healthz.
func startServer(t *testing.T, bin, data string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{base: "http://" + addr, log: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, "serve", "--data", data, "--addr", addr, "--no-browser",
		"--showcase=false", "--research-demo=false", "--log-level", "warn", "--checkpoint-every", "300ms")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start the server: %v", err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			s.kill(t)
			t.Fatalf("the server did not answer /healthz within 3 minutes: %v\n%s", err, s.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill sends SIGKILL and reaps the process.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	s.cmd.Wait()
}

// do sends a JSON request; the status is 0 when the server did not answer.
func (s *server) do(c *http.Client, method, path string, body any, out any) int {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.base)
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0 // cut off mid-answer: not acknowledged
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return 0
		}
	}
	return resp.StatusCode
}

// startJob asks for a transactions job; its id once the server answered 201.
func (s *server) startJob(t *testing.T, rows int, seed uint64) string {
	var st jobs.Status
	code := s.do(http.DefaultClient, "POST", "/api/synth/jobs",
		map[string]any{"kind": "transactions", "rows": rows, "seed": seed, "register": false}, &st)
	if code == http.StatusCreated || code == http.StatusAccepted || code == http.StatusOK {
		return st.ID
	}
	return ""
}

// startRun asks for a PPO cartpole run; its id once the server answered 201.
func (s *server) startRun(t *testing.T, seed uint64) int64 {
	var info rl.RunInfo
	code := s.do(http.DefaultClient, "POST", "/api/rl/runs",
		map[string]any{"algo": "ppo", "env": "cartpole", "steps": 2_000_000, "seed": seed, "register": false}, &info)
	if code == http.StatusCreated {
		return info.ID
	}
	return 0
}

// startMARLRun asks for a VDN run on the spread world, as the Learning
// page does (20,000 episodes, the run of the "episodes 0 of 20000" report);
// its id once the server answered 201.
func (s *server) startMARLRun(seed uint64) int64 {
	var info marl.RunInfo
	code := s.do(http.DefaultClient, "POST", "/api/marl/runs",
		map[string]any{"env": "spread", "algo": "vdn", "episodes": 20_000, "seed": seed, "register": false}, &info)
	if code == http.StatusCreated {
		return info.ID
	}
	return 0
}

// vote is one acknowledged ballot.
type vote struct {
	round    int64
	voter    string // the cookie's id, as the database keys it
	strategy string
}

// castVotes has voters on distinct loopback addresses (the vote limit is
// per address) vote until ctx ends or the server dies; it returns every
// vote that got a 200.
func (s *server) castVotes(ctx context.Context, voters int) []vote {
	var mu sync.Mutex
	var got []vote
	var wg sync.WaitGroup
	for i := range voters {
		wg.Go(func() {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(10+i))}}
			for ctx.Err() == nil {
				jar, _ := cookiejar.New(nil)
				c := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
				var st struct {
					VoteRound int64 `json:"vote_round"`
				}
				if s.do(c, "GET", "/api/tournament/state", nil, &st) != http.StatusOK {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				ballot := map[string]any{"round": st.VoteRound, "strategy": "momentum"}
				if s.do(c, "POST", "/api/tournament/votes", ballot, nil) != http.StatusPreconditionRequired {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				if s.do(c, "POST", "/api/tournament/votes", ballot, nil) != http.StatusOK {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				u, _ := http.NewRequest("GET", s.base, nil)
				for _, ck := range jar.Cookies(u.URL) {
					if id, _, ok := strings.Cut(ck.Value, "."); ok {
						mu.Lock()
						got = append(got, vote{round: st.VoteRound, voter: id, strategy: "momentum"})
						mu.Unlock()
					}
				}
				time.Sleep(150 * time.Millisecond) // under the per-address limit
			}
		})
	}
	wg.Wait()
	return got
}

// integrity runs PRAGMA integrity_check on the dead server's database.
func integrity(t *testing.T, data string, kill int) {
	t.Helper()
	db := openDB(t, data)
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatalf("kill %d: integrity_check: %v", kill, err)
	}
	if res != "ok" {
		t.Fatalf("kill %d: integrity_check says %q", kill, res)
	}
}

func openDB(t *testing.T, data string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "metastation.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// ackedState is everything the server acknowledged in all its lives.
type ackedState struct {
	mu    sync.Mutex
	votes []vote
	jobs  []string
	runs  []int64
	marl  []int64
	// resumable and marlResumable are the newest runs that trained,
	// stopped and can resume: every other training life resumes them, so
	// their checkpoints are loaded by the server too.
	resumable, marlResumable int64
	// rerunnable is the newest interrupted data job: the next data life
	// runs it again.
	rerunnable string
	// samples are the multi-agent checkpoints read while the last life
	// ran (run id, episodes, when), and killed when it was killed. A
	// checkpoint read at least floorMargin before the kill had time to
	// have its run's row follow it into the database, so the restarted
	// server must show at least its episodes.
	samples       []marlSample
	born, killed  time.Time // when the last life started and was killed
	floorsChecked int
}

// floorMargin is how long before a kill a multi-agent checkpoint must have
// been written for its episodes to be the least the restarted server may
// show: the row follows each checkpoint through the batching writer, so a
// kill between the two leaves the row one checkpoint behind (until the run
// resumes from the checkpoint itself). Only checkpoints written in the life
// that was killed count: a run that stopped training in an earlier life may
// have been killed within that window then.
const floorMargin = 2 * time.Second

type marlSample struct {
	id       int64
	episodes int
	written  time.Time // the checkpoint file's modification time
}

func (a *ackedState) addJob(id string)     { a.mu.Lock(); a.jobs = append(a.jobs, id); a.mu.Unlock() }
func (a *ackedState) addRun(id int64)      { a.mu.Lock(); a.runs = append(a.runs, id); a.mu.Unlock() }
func (a *ackedState) addMARLRun(id int64)  { a.mu.Lock(); a.marl = append(a.marl, id); a.mu.Unlock() }
func (a *ackedState) killedAt(t time.Time) { a.mu.Lock(); a.killed = t; a.mu.Unlock() }
func (a *ackedState) bornAt(t time.Time)   { a.mu.Lock(); a.born = t; a.mu.Unlock() }
func (a *ackedState) addVotes(v []vote) {
	a.mu.Lock()
	a.votes = append(a.votes, v...)
	a.mu.Unlock()
}

// dataJob starts the data life's job: the last interrupted job run again
// (its rerun must be accepted: that is what resumable means for a data
// job), or a fresh one. It returns the new job's id once acknowledged.
func (a *ackedState) dataJob(t *testing.T, srv *server, rows int, seed uint64) string {
	a.mu.Lock()
	again := a.rerunnable
	a.mu.Unlock()
	if again != "" {
		var st jobs.Status
		switch code := srv.do(http.DefaultClient, "POST", "/api/synth/jobs/"+again+"/rerun", nil, &st); code {
		case http.StatusAccepted:
			return st.ID
		case 0: // killed before it answered
			return ""
		default:
			t.Errorf("the rerun of interrupted job %s answered %d", again, code)
		}
	}
	return srv.startJob(t, rows, seed)
}

// sampleMARLCheckpoints reads the acknowledged multi-agent runs'
// checkpoints every 200 ms until ctx ends.
func (a *ackedState) sampleMARLCheckpoints(ctx context.Context, data string) {
	for ctx.Err() == nil {
		a.mu.Lock()
		ids := slices.Clone(a.marl)
		a.mu.Unlock()
		for _, id := range ids {
			if n, written, err := marlEpisodes(marlCheckpoint(data, id)); err == nil {
				a.mu.Lock()
				a.samples = append(a.samples, marlSample{id: id, episodes: n, written: written})
				a.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitMARLCheckpoint waits until a multi-agent checkpoint with episodes in
// it has been read, or 3 minutes (a busy machine) have passed.
func (a *ackedState) waitMARLCheckpoint(ctx context.Context) {
	deadline := time.Now().Add(3 * time.Minute)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		a.mu.Lock()
		n := len(a.samples)
		ok := n > 0 && a.samples[n-1].episodes > 0
		a.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func marlCheckpoint(data string, id int64) string {
	return filepath.Join(data, "marl", fmt.Sprintf("run-%d", id), "checkpoint.ckpt")
}

// marlEpisodes loads a multi-agent checkpoint and returns its episodes and
// when it was written (of the file opened: a checkpoint is replaced by a
// rename, so a name's time may be another file's).
func marlEpisodes(path string) (int, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, time.Time{}, err
	}
	run, err := marl.LoadRun(f)
	if err != nil {
		return 0, time.Time{}, err
	}
	return run.Episodes(), fi.ModTime(), nil
}

// check looks for every acknowledged vote in the database, every
// acknowledged job and run in the restarted server's answers, and loads
// every checkpoint on disk.
func (a *ackedState) check(t *testing.T, s *server, data string, life int) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	db := openDB(t, data)
	defer db.Close()
	lost := 0
	for _, v := range a.votes {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM tournament_votes WHERE round = ? AND client = ? AND strategy = ?`,
			v.round, v.voter, v.strategy).Scan(&n); err != nil {
			t.Fatalf("life %d: read votes: %v", life, err)
		}
		if n != 1 {
			lost++
			t.Errorf("life %d: the acknowledged vote of %s for %s in round %d is not in the database", life, v.voter, v.strategy, v.round)
		}
	}
	var list []jobs.Status
	if code := s.do(http.DefaultClient, "GET", "/api/synth/jobs", nil, &list); code != http.StatusOK {
		t.Fatalf("life %d: GET /api/synth/jobs: %d", life, code)
	}
	byID := map[string]jobs.Status{}
	for _, j := range list {
		byID[j.ID] = j
	}
	// The service keeps the newest finished jobs only; the last few must
	// all be there.
	states := map[string]int{}
	for _, id := range a.jobs[max(0, len(a.jobs)-10):] {
		j, ok := byID[id]
		states["job "+j.State]++
		switch {
		case !ok:
			lost++
			t.Errorf("life %d: acknowledged job %s is not listed after the restart", life, id)
		case j.State == jobs.Done && j.File == "":
			t.Errorf("life %d: job %s is done without a file", life, id)
		case j.State == jobs.Done && fileSize(filepath.Join(data, "synth", j.File)) != j.Bytes:
			t.Errorf("life %d: job %s is done but its file has %d bytes, not the %d it finished with", life, id, fileSize(filepath.Join(data, "synth", j.File)), j.Bytes)
		case j.State == jobs.Interrupted && j.Error == "":
			t.Errorf("life %d: job %s is interrupted without a sentence", life, id)
		case j.State != jobs.Done && j.State != jobs.Interrupted:
			t.Errorf("life %d: job %s is %s after a restart (want done or interrupted)", life, id, j.State)
		}
	}
	a.rerunnable = ""
	for _, id := range a.jobs {
		if j, ok := byID[id]; ok && j.State == jobs.Interrupted {
			a.rerunnable = id
		}
	}
	var infos []rl.RunInfo
	if code := s.do(http.DefaultClient, "GET", "/api/rl/runs", nil, &infos); code != http.StatusOK {
		t.Fatalf("life %d: GET /api/rl/runs: %d", life, code)
	}
	runByID := map[int64]rl.RunInfo{}
	for _, r := range infos {
		runByID[r.ID] = r
	}
	a.resumable = 0
	for _, id := range a.runs {
		r, ok := runByID[id]
		states["run "+string(r.Status)]++
		if ok && r.Status == runs.Stopped && r.Resumable && r.Steps > 0 {
			a.resumable = id
		}
		switch {
		case !ok:
			lost++
			t.Errorf("life %d: acknowledged run %d is not listed after the restart", life, id)
		case r.Status.Active():
			t.Errorf("life %d: run %d is %s after a restart (want stopped or failed)", life, id, r.Status)
		case r.Status == runs.Stopped && !r.Resumable:
			t.Errorf("life %d: run %d is stopped but not resumable", life, id)
		case r.Status == runs.Failed && r.Error == "":
			t.Errorf("life %d: run %d failed without a sentence", life, id)
		}
	}
	lost += a.checkMARL(t, s, data, life, states)
	checkpoints := 0
	filepath.WalkDir(filepath.Join(data, "rl"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".ckpt" {
			return nil
		}
		checkpoints++
		c, err := rl.LoadCheckpoint(path)
		if err != nil {
			t.Errorf("life %d: checkpoint %s does not load: %v", life, path, err)
			return nil
		}
		if _, err := rl.RestoreLearner(c); err != nil {
			t.Errorf("life %d: checkpoint %s does not restore: %v", life, path, err)
		}
		return nil
	})
	if lost > 0 {
		t.Fatalf("life %d: %d acknowledged votes, jobs or runs lost", life, lost)
	}
	t.Logf("life %d: %d votes, %d jobs, %d rl and %d marl runs found; %d rl checkpoints load; %d multi-agent episode floors held; %v",
		life, len(a.votes), len(a.jobs), len(a.runs), len(a.marl), checkpoints, a.floorsChecked, states)
}

// checkMARL checks the acknowledged multi-agent runs after a restart, as
// check does the rl ones, and their episodes: never more than their
// checkpoint holds, and at least what a checkpoint read floorMargin before
// the kill held. It returns how many runs are lost. a.mu is held.
func (a *ackedState) checkMARL(t *testing.T, s *server, data string, life int, states map[string]int) int {
	t.Helper()
	var infos []marl.RunInfo
	if code := s.do(http.DefaultClient, "GET", "/api/marl/runs", nil, &infos); code != http.StatusOK {
		t.Fatalf("life %d: GET /api/marl/runs: %d", life, code)
	}
	byID := map[int64]marl.RunInfo{}
	for _, r := range infos {
		byID[r.ID] = r
	}
	floor := map[int64]int{}
	for _, sm := range a.samples {
		if sm.written.After(a.born) && !sm.written.After(a.killed.Add(-floorMargin)) {
			floor[sm.id] = max(floor[sm.id], sm.episodes)
		}
	}
	a.samples = nil
	lost := 0
	a.marlResumable = 0
	for _, id := range a.marl {
		r, ok := byID[id]
		states["marl "+string(r.Status)]++
		if !ok {
			lost++
			t.Errorf("life %d: acknowledged multi-agent run %d is not listed after the restart", life, id)
			continue
		}
		switch {
		case r.Status.Active():
			t.Errorf("life %d: multi-agent run %d is %s after a restart (want stopped or failed)", life, id, r.Status)
		case r.Status == runs.Stopped && !r.Resumable:
			t.Errorf("life %d: multi-agent run %d is stopped but not resumable", life, id)
		case r.Status == runs.Stopped && r.Episodes > 0 && !exists(marlCheckpoint(data, id)):
			t.Errorf("life %d: multi-agent run %d shows %d episodes but has no checkpoint", life, id, r.Episodes)
		case r.Status == runs.Failed && r.Error == "":
			t.Errorf("life %d: multi-agent run %d failed without a sentence", life, id)
		}
		if r.Status == runs.Stopped && r.Resumable && r.Episodes > 0 {
			a.marlResumable = id
		}
		ckpt, _, err := marlEpisodes(marlCheckpoint(data, id))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			ckpt = -1
		case err != nil:
			t.Errorf("life %d: multi-agent checkpoint of run %d does not load: %v", life, id, err)
		}
		if ckpt >= 0 && r.Episodes > ckpt {
			t.Errorf("life %d: multi-agent run %d shows %d episodes, more than its checkpoint's %d", life, id, r.Episodes, ckpt)
		}
		if f, ok := floor[id]; ok {
			a.floorsChecked++
			if r.Episodes < f {
				t.Errorf("life %d: multi-agent run %d came back with %d of %d episodes, though its checkpoint had %d at least %v before the kill",
					life, id, r.Episodes, r.Total, f, floorMargin)
			}
		}
	}
	return lost
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// fileSize is the size of path, -1 when it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}
