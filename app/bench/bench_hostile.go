package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/command"
)

// HostileBenchResult is what `metastation bench hostile --json` prints last.
// The first four keys are the ones issue 21 names.
type HostileBenchResult struct {
	NormalP99Quiet     float64 `json:"normal_p99_ms_quiet"`
	NormalP99Attack    float64 `json:"normal_p99_ms_under_attack"`
	Kicked             int64   `json:"kicked"`
	NormalDisconnected int64   `json:"normal_disconnected"`

	Normal          int           `json:"normal_clients"`
	NormalConnected int64         `json:"normal_connected"`
	P99Ratio        float64       `json:"p99_ratio"`
	P50Quiet        float64       `json:"normal_p50_ms_quiet"`
	P50Attack       float64       `json:"normal_p50_ms_under_attack"`
	DeliveredQuiet  uint64        `json:"delivered_quiet"`
	ExpectedQuiet   uint64        `json:"expected_quiet"`
	DeliveredAttack uint64        `json:"delivered_under_attack"`
	DeliveredTotal  uint64        `json:"delivered_total"` // both phases, waited for up to 30 s after the last publish
	ExpectedAttack  uint64        `json:"expected_under_attack"`
	SlowReaders     int           `json:"slow_readers"`
	SlowIn          int64         `json:"slow_readers_subscribed"`
	SlowKicked      int64         `json:"slow_readers_kicked"`
	NeverReaders    int           `json:"never_readers"`
	NeverIn         int64         `json:"never_readers_subscribed"`
	NeverKicked     int64         `json:"never_readers_kicked"`
	Oversized       int64         `json:"oversized_sent"`
	OversizedKicked int64         `json:"oversized_kicked"`
	Garbage         int64         `json:"garbage_sent"`
	GarbageKicked   int64         `json:"garbage_kicked"`
	StormAttempts   int64         `json:"storm_attempts"`
	StormSubscribed int64         `json:"storm_subscribed"`
	StormFailed     int64         `json:"storm_failed"`
	StormPerS       float64       `json:"storm_connects_per_s"`
	ForeignTried    int64         `json:"foreign_origin_tried"`
	ForeignLetIn    int64         `json:"foreign_origin_let_in"`
	Votes           int64         `json:"votes_sent"`
	VoteStatus      map[int]int64 `json:"vote_status"`
	WronglyLetIn    int64         `json:"wrongly_let_in"`
	HubSlowKicked   uint64        `json:"hub_slow_kicked"`
	HubBadMessages  uint64        `json:"hub_bad_messages"`
	HubRefused      uint64        `json:"hub_refused"`
	HubShed         uint64        `json:"hub_shed"`               // upgrades refused while the fan-out ran late
	ReadersKickedS  float64       `json:"readers_kicked_after_s"` // attack start to the hub's last kick of a slow or never-reader; -1 when not all were kicked
	P99Within       bool          `json:"p99_within_1_5x"`
	BulkBytes       int           `json:"bulk_bytes"`
	BulkHz          float64       `json:"bulk_hz"`
	Seconds         float64       `json:"seconds_per_phase"`
	RateHz          float64       `json:"rate_hz"`
	LoadProcesses   int           `json:"load_processes"`
	OpenFilesLimit  uint64        `json:"open_files_limit"`
}

// hostileOptions size the attack. The defaults are the numbers.
type hostileOptions struct {
	Normal       int
	Seconds      float64 // each phase publishes this long
	Rate         float64 // bench messages per second to every normal client
	SlowReaders  int     // read one frame a second
	NeverReaders int     // subscribe to everything, then never read
	Oversized    int     // goroutines sending oversized frames in a loop
	Garbage      int     // goroutines sending malformed frames in a loop
	StormRate    float64 // connects per second
	StormSeconds float64
	VoteWorkers  int     // goroutines posting votes as fast as they can
	BulkBytes    int     // payload of each message on bulkTopic, which only the hostile readers get
	BulkHz       float64 // bulk messages per second
	Procs        int     // load-generator processes for the normal clients, as bench hub: 0 picks, -1 runs them in this process
	DrainWait    time.Duration
	LateWait     time.Duration // how long a phase waits for its late frames
	CPUProfile   io.Writer     // when set, this process's CPU profile of the attack phase
}

// bulkTopic carries big payloads that only the hostile readers subscribe to
// (through "*"), so that one which does not read fills its socket buffers
// within the attack, as on a busy server; the normal clients never get it.
const bulkTopic = "bench.bulk"

func runBenchHostile(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench hostile", env.Stderr)
	o := hostileOptions{}
	fs.IntVar(&o.Normal, "clients", 5000, "normal web socket `clients`")
	fs.Float64Var(&o.Seconds, "seconds", 10, "length of each phase (quiet, under attack) in `seconds`")
	fs.Float64Var(&o.Rate, "rate", 4, "messages per second each normal client receives")
	fs.IntVar(&o.SlowReaders, "slow", 200, "slow readers (one frame a second, subscribed to everything)")
	fs.IntVar(&o.NeverReaders, "never", 200, "never-readers (subscribed to everything, read nothing)")
	fs.IntVar(&o.Oversized, "oversized", 20, "goroutines sending 64 KiB frames over and over (one connection each time)")
	fs.IntVar(&o.Garbage, "garbage", 20, "goroutines sending malformed frames over and over (one connection each time)")
	fs.Float64Var(&o.StormRate, "storm-rate", 1000, "reconnect storm: connects per second")
	fs.Float64Var(&o.StormSeconds, "storm-seconds", 10, "reconnect storm: how long, in seconds")
	fs.IntVar(&o.VoteWorkers, "vote-workers", 16, "goroutines flooding the vote endpoint")
	fs.IntVar(&o.BulkBytes, "bulk-bytes", 64<<10, "size of each bulk message the hostile readers get, in `bytes`")
	fs.Float64Var(&o.BulkHz, "bulk-hz", 20, "bulk messages per second during the attack")
	fs.IntVar(&o.Procs, "procs", 0, "load-generator processes for the normal clients: 0 picks one per 15,000; -1 runs them in this process")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile of the attack phase (server and hostile clients) to `file`")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		o.CPUProfile = f
	}
	if o.Normal < 1 || o.Normal > 50_000 || o.Seconds <= 0 || o.Seconds > 600 || o.Rate <= 0 || o.Rate > 100 {
		return command.Usagef("--clients must be in [1, 50000], --seconds in (0, 600], --rate in (0, 100]")
	}
	if o.StormRate < 0 || o.StormRate > 10_000 || o.StormSeconds < 0 || o.StormSeconds > 600 {
		return command.Usagef("--storm-rate must be in [0, 10000] and --storm-seconds in [0, 600]")
	}
	if o.BulkBytes < 0 || o.BulkBytes > 16<<20 || o.BulkHz < 0 || o.BulkHz > 1000 {
		return command.Usagef("--bulk-bytes must be in [0, 16 MiB] and --bulk-hz in [0, 1000]")
	}
	o.DrainWait, o.LateWait = 5*time.Second, 30*time.Second
	res, err := benchHostile(ctx, env, o)
	if err != nil {
		return err
	}
	printHostile(env.Stdout, res)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

func printHostile(w io.Writer, r HostileBenchResult) {
	fmt.Fprintf(w, "normal clients      %d connected of %d, %d disconnected during the run\n", r.NormalConnected, r.Normal, r.NormalDisconnected)
	fmt.Fprintf(w, "quiet               p50 %.1f ms, p99 %.1f ms (%d of %d delivered)\n", r.P50Quiet, r.NormalP99Quiet, r.DeliveredQuiet, r.ExpectedQuiet)
	fmt.Fprintf(w, "under attack        p50 %.1f ms, p99 %.1f ms (%d of %d delivered), p99 ratio %.2f\n", r.P50Attack, r.NormalP99Attack, r.DeliveredAttack, r.ExpectedAttack, r.P99Ratio)
	fmt.Fprintf(w, "kicked              %d: slow readers %d of %d, never-readers %d of %d, oversized %d of %d, garbage %d of %d\n",
		r.Kicked, r.SlowKicked, r.SlowIn, r.NeverKicked, r.NeverIn, r.OversizedKicked, r.Oversized, r.GarbageKicked, r.Garbage)
	fmt.Fprintf(w, "readers kicked by   %.1f s into the attack (-1: not all of them)\n", r.ReadersKickedS)
	fmt.Fprintf(w, "reconnect storm     %d subscribed, %d failed of %d (%.0f connects/s); hub refused %d upgrades for its accept rate, %d while its fan-out ran late\n", r.StormSubscribed, r.StormFailed, r.StormAttempts, r.StormPerS, r.HubRefused, r.HubShed)
	fmt.Fprintf(w, "wrongly let in      %d (foreign-origin sockets %d of %d; vote statuses %v)\n", r.WronglyLetIn, r.ForeignLetIn, r.ForeignTried, r.VoteStatus)
}

// dialSubscribed opens a socket, subscribes and waits for the ack.
func dialSubscribed(ctx context.Context, wsURL string, hdr http.Header, sub []byte) (*websocket.Conn, error) {
	return subscribeOn(ctx, wsURL, hdr, sub, false)
}

// subscribeOn dials (waiting out accept-rate refusals when retry), subscribes
// and waits for the ack.
func subscribeOn(ctx context.Context, wsURL string, hdr http.Header, sub []byte, retry bool) (*websocket.Conn, error) {
	var c *websocket.Conn
	var err error
	if retry {
		c, err = dialAdmitted(ctx, wsURL, hdr)
	} else {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, _, err = websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPHeader: hdr})
		cancel()
	}
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c.SetReadLimit(64 << 20) // "*" subscribers get large frames
	if err := c.Write(dctx, websocket.MessageText, sub); err != nil {
		c.CloseNow()
		return nil, err
	}
	if err := awaitSubscribed(dctx, c); err != nil {
		c.CloseNow()
		return nil, err
	}
	return c, nil
}

func benchHostile(ctx context.Context, env command.Env, o hostileOptions) (HostileBenchResult, error) {
	res := HostileBenchResult{Normal: o.Normal, SlowReaders: o.SlowReaders, NeverReaders: o.NeverReaders,
		Seconds: o.Seconds, RateHz: o.Rate, BulkBytes: o.BulkBytes, BulkHz: o.BulkHz, VoteStatus: map[int]int64{}}
	// The normal clients live in load-generator processes (or, with Procs
	// -1, here); the hostile ones and every server side live here.
	procs, inProc := o.Procs, o.Procs < 0
	if procs == 0 {
		procs = (o.Normal + 14_999) / 15_000
	}
	if inProc {
		procs = 1
	}
	res.LoadProcesses = procs
	here := o.Normal + 2*(o.SlowReaders+o.NeverReaders)
	if inProc {
		here += o.Normal
	}
	limit, err := raiseOpenFiles(uint64(here) + 8192)
	if err != nil {
		fmt.Fprintln(env.Stderr, "warning:", err)
	}
	res.OpenFilesLimit = limit
	if need := uint64(here) + 512; limit < need {
		return res, fmt.Errorf("this process may open only %d files, %d are needed; lower --clients (the hard limit cannot be raised here)", limit, need)
	}
	srv, wsURL, stopServer, err := startBenchServer(ctx, env, "hostile", slog.LevelError)
	if err != nil {
		return res, err
	}
	defer stopServer()
	base := "http" + strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws"), "/ws")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	gens := make([]*loadGen, procs)
	for i := range gens {
		n := o.Normal / procs
		if i < o.Normal%procs {
			n++
		}
		if gens[i], err = startLoadGen(ctx, wsURL, n, inProc); err != nil {
			return res, err
		}
	}
	defer func() {
		for _, g := range gens {
			g.stdin.Close()
			g.wait()
		}
	}()
	fmt.Fprintf(env.Stderr, "connecting %d normal clients in %d load generator(s)\n", o.Normal, procs)
	for _, g := range gens {
		line, err := readUntil(g, func(l loadLine) bool { return l.Ready })
		if err != nil {
			return res, err
		}
		res.NormalConnected += int64(line.Connected)
	}

	// Quiet phase.
	fmt.Fprintf(env.Stderr, "quiet phase, %.0f s\n", o.Seconds)
	n, err := publishTicks(ctx, env.Stderr, srv, o.Seconds, o.Rate, nil)
	if err != nil {
		return res, err
	}
	res.ExpectedQuiet = uint64(n) * uint64(res.NormalConnected)
	quiet, err := collectPhase(gens, res.ExpectedQuiet, o.LateWait)
	if err != nil {
		return res, err
	}
	res.DeliveredQuiet = quiet.received

	// Attack phase: the hostile clients start, and once the slow and
	// never-readers are in, the normal clients' latencies of a second run of
	// ticks are measured.
	hub0 := srv.Hub.Stats()
	atk := newAttack(ctx, base, wsURL, o)
	fmt.Fprintf(env.Stderr, "attack phase, %.0f s\n", o.Seconds)
	if o.CPUProfile != nil {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return res, fmt.Errorf("cpu profile: %w", err)
		}
	}
	atk.start()
	kicks := watchReaderKicks(atk.ctx, srv, hub0.SlowKicked, uint64(o.SlowReaders+o.NeverReaders))
	bulkDone := make(chan struct{})
	go func() { defer close(bulkDone); publishBulk(atk.ctx, srv, o.BulkBytes, o.BulkHz) }()
	n, err = publishTicks(ctx, env.Stderr, srv, o.Seconds, o.Rate, nil)
	if err != nil {
		return res, err
	}
	res.ExpectedAttack = uint64(n) * uint64(res.NormalConnected)
	if o.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	atk.stop()
	<-bulkDone
	res.ReadersKickedS = <-kicks
	hub1 := srv.Hub.Stats()
	under, err := collectPhase(gens, res.ExpectedAttack, o.LateWait)
	if err != nil {
		return res, err
	}
	res.DeliveredAttack = under.received
	res.DeliveredTotal = res.DeliveredQuiet + res.DeliveredAttack

	res.NormalDisconnected = int64(under.dropped)
	res.P50Quiet = float64(quiet.hist.Quantile(0.50)) / 1000
	res.NormalP99Quiet = float64(quiet.hist.Quantile(0.99)) / 1000
	res.P50Attack = float64(under.hist.Quantile(0.50)) / 1000
	res.NormalP99Attack = float64(under.hist.Quantile(0.99)) / 1000
	if res.NormalP99Quiet > 0 {
		res.P99Ratio = res.NormalP99Attack / res.NormalP99Quiet
	}
	res.P99Within = res.NormalP99Attack <= 1.5*res.NormalP99Quiet
	atk.fill(&res)
	res.HubSlowKicked = hub1.SlowKicked - hub0.SlowKicked
	res.HubBadMessages = hub1.BadMessages - hub0.BadMessages
	res.HubRefused = hub1.Refused - hub0.Refused
	res.HubShed = hub1.Shed - hub0.Shed
	for _, g := range gens {
		fmt.Fprintln(g.stdin, "stop")
		if _, err := readUntil(g, func(l loadLine) bool { return l.Done }); err != nil {
			return res, err
		}
	}
	return res, nil
}

// phase is what the normal clients received in one phase.
type phase struct {
	hist     *latencyHist
	received uint64
	dropped  int // normal clients the server has closed so far
}

// collectPhase marks the load generators until the phase's expected frames
// are in or wait has passed, so that the late frames, the slowest ones,
// count in their own phase's histogram.
func collectPhase(gens []*loadGen, expected uint64, wait time.Duration) (phase, error) {
	p := phase{hist: &latencyHist{}}
	for deadline := time.Now().Add(wait); ; {
		p.dropped = 0
		for _, g := range gens {
			fmt.Fprintln(g.stdin, "mark")
			line, err := readUntil(g, func(l loadLine) bool { return l.Mark })
			if err != nil {
				return p, err
			}
			p.hist.AddSparse(line.Hist, line.MaxUS)
			p.received += line.Received
			p.dropped += line.Dropped
		}
		if p.received >= expected || time.Now().After(deadline) {
			return p, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// watchReaderKicks reports, once ctx ends, how many seconds after its start
// the hub's slow-client kicks reached want more than from, or -1.
func watchReaderKicks(ctx context.Context, srv *app.App, from, want uint64) <-chan float64 {
	out := make(chan float64, 1)
	start := time.Now()
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if srv.Hub.Stats().SlowKicked-from >= want {
				out <- time.Since(start).Seconds()
				return
			}
			select {
			case <-ctx.Done():
				out <- -1
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// publishBulk publishes size-byte messages on bulkTopic at hz until ctx ends.
func publishBulk(ctx context.Context, srv *app.App, size int, hz float64) {
	if size == 0 || hz == 0 {
		return
	}
	payload := strings.Repeat("x", size)
	tick := time.NewTicker(time.Duration(float64(time.Second) / hz))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		srv.Bus.Publish(bus.Envelope{Topic: bulkTopic, From: "bench", Kind: "bulk", Payload: payload})
	}
}

// attack runs every kind of hostile client until stop.
type attack struct {
	ctx       context.Context
	cancel    context.CancelFunc
	base, ws  string
	o         hostileOptions
	wg        sync.WaitGroup
	readersWG sync.WaitGroup

	slowKicked, neverKicked          atomic.Int64
	slowIn, neverIn                  atomic.Int64 // readers that subscribed
	oversized, oversizedKicked       atomic.Int64
	garbage, garbageKicked           atomic.Int64
	stormTried, stormOK, stormFailed atomic.Int64
	foreignTried, foreignLetIn       atomic.Int64
	votes                            atomic.Int64
	voteMu                           sync.Mutex
	voteStatus                       map[int]int64
	wronglyCounted                   atomic.Int64
	stormStart, stormEnd             time.Time
	readersMu                        sync.Mutex
	neverConns                       []*websocket.Conn
	hostileStop                      chan struct{}
	stormDone                        chan struct{}
	everything                       []byte
}

func newAttack(parent context.Context, base, wsURL string, o hostileOptions) *attack {
	ctx, cancel := context.WithCancel(parent)
	return &attack{ctx: ctx, cancel: cancel, base: base, ws: wsURL, o: o, voteStatus: map[int]int64{},
		hostileStop: make(chan struct{}), stormDone: make(chan struct{}),
		everything: []byte(`{"type":"subscribe","topics":["*"]}`)}
}

func (a *attack) start() {
	var ready sync.WaitGroup
	for range a.o.SlowReaders {
		ready.Add(1)
		a.readersWG.Add(1)
		go a.slowReader(&ready)
	}
	for range a.o.NeverReaders {
		ready.Add(1)
		go a.neverReader(&ready)
	}
	ready.Wait()
	for range a.o.Oversized {
		a.loop(a.oversize)
	}
	for range a.o.Garbage {
		a.loop(a.garbageOnce)
	}
	for range a.o.VoteWorkers {
		a.loop(a.voteOnce)
	}
	a.wg.Add(1)
	go a.storm()
}

// loop runs one attack over and over until stop.
func (a *attack) loop(once func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			select {
			case <-a.hostileStop:
				return
			default:
			}
			once()
		}
	}()
}

func (a *attack) stop() {
	close(a.hostileStop)
	a.wg.Wait()
	// Never-readers now read: one the server dropped ends after its
	// buffered frames; one it kept goes on receiving until the deadline.
	var wg sync.WaitGroup
	for _, c := range a.neverConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if kickedWithin(a.ctx, c, a.o.DrainWait) {
				a.neverKicked.Add(1)
			}
		}()
	}
	wg.Wait()
	a.readersWG.Wait()
	a.cancel()
}

// kickedWithin drains c and reports whether the server ended the connection
// within wait. It discards what it reads unread: an attacker's CPU is its
// own, and this process is the server's too.
func kickedWithin(ctx context.Context, c *websocket.Conn, wait time.Duration) bool {
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		if err := discardFrame(ctx, c); err != nil {
			return ctx.Err() == nil
		}
	}
}

// discardFrame reads one frame into nothing.
func discardFrame(ctx context.Context, c *websocket.Conn) error {
	_, r, err := c.Reader(ctx)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, r)
	return err
}

// slowReader reads one frame a second. The server should drop it; whether
// it did shows once the attack ends and it drains what is buffered.
func (a *attack) slowReader(ready *sync.WaitGroup) {
	defer a.readersWG.Done()
	c, err := subscribeOn(a.ctx, a.ws, nil, a.everything, true)
	ready.Done()
	if err != nil {
		return
	}
	a.slowIn.Add(1)
	for {
		if err := discardFrame(a.ctx, c); err != nil {
			c.CloseNow()
			a.slowKicked.Add(1)
			return
		}
		select {
		case <-a.hostileStop:
			if kickedWithin(a.ctx, c, a.o.DrainWait) {
				a.slowKicked.Add(1)
			}
			return
		case <-time.After(time.Second):
		}
	}
}

func (a *attack) neverReader(ready *sync.WaitGroup) {
	defer ready.Done()
	c, err := subscribeOn(a.ctx, a.ws, nil, a.everything, true)
	if err != nil {
		return
	}
	a.neverIn.Add(1)
	a.readersMu.Lock()
	a.neverConns = append(a.neverConns, c)
	a.readersMu.Unlock()
}

// oversize sends one frame past the hub's read limit and waits to be closed.
func (a *attack) oversize() {
	c, err := dialAdmitted(a.ctx, a.ws, nil)
	if err != nil {
		return
	}
	a.oversized.Add(1)
	c.Write(a.ctx, websocket.MessageText, bytes.Repeat([]byte("x"), 64<<10))
	if kickedWithin(a.ctx, c, 10*time.Second) {
		a.oversizedKicked.Add(1)
	}
}

// garbageOnce sends malformed frames until the server closes on it.
func (a *attack) garbageOnce() {
	c, err := dialAdmitted(a.ctx, a.ws, nil)
	if err != nil {
		return
	}
	a.garbage.Add(1)
	go func() {
		junk := [][]byte{{0xff, 0x00, 0x13}, []byte(`{"type":`), []byte(`{"type":"subscribe","topics":["../../etc"]}`), []byte(`[]`)}
		for i := 0; i < 20; i++ {
			typ := websocket.MessageText
			if i%4 == 0 {
				typ = websocket.MessageBinary
			}
			if c.Write(a.ctx, typ, junk[i%len(junk)]) != nil {
				return
			}
		}
	}()
	if kickedWithin(a.ctx, c, 10*time.Second) {
		a.garbageKicked.Add(1)
	}
}

// storm connects at StormRate for StormSeconds: each connection subscribes,
// waits for the ack and leaves. Every tenth comes from a foreign Origin and
// must be refused.
func (a *attack) storm() {
	defer a.wg.Done()
	n := int(a.o.StormRate * a.o.StormSeconds)
	if n == 0 {
		return
	}
	sub := []byte(`{"type":"subscribe","topics":["` + benchTopic + `"]}`)
	foreign := http.Header{"Origin": {"http://evil.example"}}
	interval := time.Duration(float64(time.Second) / a.o.StormRate)
	a.stormStart = time.Now()
	var wg sync.WaitGroup
	for i := range n {
		if d := time.Until(a.stormStart.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-a.ctx.Done():
				return
			case <-time.After(d):
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%10 == 9 {
				a.foreignTried.Add(1)
				if c, err := dialSubscribed(a.ctx, a.ws, foreign, sub); err == nil {
					a.foreignLetIn.Add(1)
					c.CloseNow()
				}
				return
			}
			a.stormTried.Add(1)
			c, err := dialSubscribed(a.ctx, a.ws, nil, sub)
			if err != nil {
				a.stormFailed.Add(1) // refused by the accept rate (503) or timed out
				return
			}
			a.stormOK.Add(1)
			c.Close(websocket.StatusNormalClosure, "")
		}()
	}
	a.stormEnd = time.Now()
	wg.Wait()
}

var voteClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// voteOnce posts a vote without a cookie, or with a forged one. Neither may
// count: a vote that is answered 200 was let in.
func (a *attack) voteOnce() {
	body := `{"round": 1, "strategy": "momentum"}`
	req, err := http.NewRequestWithContext(a.ctx, http.MethodPost, a.base+"/api/tournament/votes", strings.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if a.votes.Add(1)%2 == 0 {
		req.AddCookie(&http.Cookie{Name: "ms_voter", Value: "forged.c2lnbmF0dXJl"})
	}
	resp, err := voteClient.Do(req)
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a.voteMu.Lock()
	a.voteStatus[resp.StatusCode]++
	a.voteMu.Unlock()
	if resp.StatusCode/100 == 2 {
		a.wronglyCounted.Add(1)
	}
}

func (a *attack) fill(r *HostileBenchResult) {
	r.SlowKicked, r.NeverKicked = a.slowKicked.Load(), a.neverKicked.Load()
	r.SlowIn, r.NeverIn = a.slowIn.Load(), a.neverIn.Load()
	r.Oversized, r.OversizedKicked = a.oversized.Load(), a.oversizedKicked.Load()
	r.Garbage, r.GarbageKicked = a.garbage.Load(), a.garbageKicked.Load()
	r.Kicked = r.SlowKicked + r.NeverKicked + r.OversizedKicked + r.GarbageKicked
	r.StormAttempts, r.StormSubscribed, r.StormFailed = a.stormTried.Load(), a.stormOK.Load(), a.stormFailed.Load()
	if d := a.stormEnd.Sub(a.stormStart).Seconds(); d > 0 {
		r.StormPerS = float64(r.StormAttempts+a.foreignTried.Load()) / d
	}
	r.ForeignTried, r.ForeignLetIn = a.foreignTried.Load(), a.foreignLetIn.Load()
	r.Votes = a.votes.Load()
	a.voteMu.Lock()
	for k, v := range a.voteStatus {
		r.VoteStatus[k] = v
	}
	a.voteMu.Unlock()
	r.WronglyLetIn = r.ForeignLetIn + a.wronglyCounted.Load()
}
