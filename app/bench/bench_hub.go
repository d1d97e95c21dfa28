package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/web"
)

// HubBenchResult is what `metastation bench hub --json` prints last.
type HubBenchResult struct {
	Clients          int     `json:"clients"`
	ConnectFailed    int     `json:"connect_failed"`
	ConnectSeconds   float64 `json:"connect_s"`
	Seconds          float64 `json:"seconds"`
	RateHz           float64 `json:"rate_hz"`
	Expected         uint64  `json:"expected"`
	Delivered        uint64  `json:"delivered"`
	DeliveredPerS    float64 `json:"delivered_per_s"`
	P50ms            float64 `json:"p50_ms"`
	P99ms            float64 `json:"p99_ms"`
	MaxMs            float64 `json:"max_ms"`
	Disconnected     int     `json:"disconnected"`
	SlowKicked       uint64  `json:"slow_kicked"`
	HeapBytesPerConn float64 `json:"heap_bytes_per_conn"`
	StackBytesPerCon float64 `json:"stack_bytes_per_conn"`
	GoroutinesPerCon float64 `json:"goroutines_per_conn"`
	LoadProcesses    int     `json:"load_processes"`
	LoadInProcess    bool    `json:"load_in_process"`
	OpenFilesLimit   uint64  `json:"open_files_limit"`
}

// benchTick is the payload the benchmark publishes.
type benchTick struct {
	SentNs int64 `json:"sent_ns"`
}

const benchTopic = "bench.tick"

func runBenchHub(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench hub", env.Stderr)
	clients := fs.Int("clients", 1000, "web socket `clients` to connect")
	seconds := fs.Float64("seconds", 10, "how long to publish, in `seconds`")
	rate := fs.Float64("rate", 4, "messages per second each client receives")
	procs := fs.Int("procs", 0, "load-generator processes: 0 picks one per 15,000 clients; -1 runs the clients in this process (then heap figures include them)")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	loadURL := fs.String("load-generator", "", "internal: be a load-generator process for this ws:// URL")
	cpuProfile := fs.String("cpuprofile", "", "write the server process's CPU profile during publishing to `file`")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *clients < 1 || *clients > 200_000 {
		return command.Usagef("--clients must be between 1 and 200000")
	}
	if *seconds <= 0 || *seconds > 3600 || *rate <= 0 || *rate > 1000 {
		return command.Usagef("--seconds must be in (0, 3600] and --rate in (0, 1000]")
	}
	if *loadURL != "" {
		return hubLoad(ctx, *loadURL, *clients, os.Stdin, env.Stdout)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := benchHub(ctx, env, *clients, *seconds, *rate, *procs)
	if err != nil {
		return err
	}
	printHubResult(env.Stdout, res)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

func printHubResult(w io.Writer, r HubBenchResult) {
	fmt.Fprintf(w, "clients held        %d (failed to connect: %d, connect took %.1f s)\n", r.Clients, r.ConnectFailed, r.ConnectSeconds)
	fmt.Fprintf(w, "delivered           %d of %d expected, %.0f frames/s\n", r.Delivered, r.Expected, r.DeliveredPerS)
	fmt.Fprintf(w, "latency             p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.P50ms, r.P99ms, r.MaxMs)
	fmt.Fprintf(w, "disconnected        %d (slow-client kicks: %d)\n", r.Disconnected, r.SlowKicked)
	fmt.Fprintf(w, "server per conn     %.1f KiB heap, %.1f KiB stack, %.2f goroutines\n",
		r.HeapBytesPerConn/1024, r.StackBytesPerCon/1024, r.GoroutinesPerCon)
	where := fmt.Sprintf("%d separate process(es)", r.LoadProcesses)
	if r.LoadInProcess {
		where = "this process (heap figures include the clients)"
	}
	fmt.Fprintf(w, "load generator      %s; open-files limit %d\n", where, r.OpenFilesLimit)
}

// loadLine is one line of the load generator's protocol on its stdout.
type loadLine struct {
	Progress  int            `json:"progress,omitempty"`
	Ready     bool           `json:"ready,omitempty"`
	Connected int            `json:"connected,omitempty"`
	Failed    int            `json:"failed,omitempty"`
	Done      bool           `json:"done,omitempty"`
	Mark      bool           `json:"mark,omitempty"`
	Received  uint64         `json:"received,omitempty"`
	Dropped   int            `json:"disconnected,omitempty"`
	Hist      map[int]uint64 `json:"hist,omitempty"`
	MaxUS     uint64         `json:"max_us,omitempty"`
	Err       string         `json:"error,omitempty"`
}

// loadGen is one running load generator, in a child process or in this one.
type loadGen struct {
	stdin io.WriteCloser
	lines *bufio.Scanner
	wait  func() error
}

func benchHub(ctx context.Context, env command.Env, clients int, seconds, rate float64, procs int) (HubBenchResult, error) {
	res := HubBenchResult{Seconds: seconds, RateHz: rate}
	inProc := procs < 0
	if procs == 0 {
		procs = (clients + 14_999) / 15_000
	}
	if inProc {
		procs = 1
	}
	res.LoadProcesses, res.LoadInProcess = procs, inProc
	limit, err := raiseOpenFiles(uint64(clients) + 4096)
	if err != nil {
		fmt.Fprintln(env.Stderr, "warning:", err)
	}
	res.OpenFilesLimit = limit
	if limit < uint64(clients)+256 {
		return res, fmt.Errorf("this process may open only %d files, too few for %d clients (the hard limit cannot be raised here)", limit, clients)
	}

	srv, wsURL, stop, err := startBenchServer(ctx, env, "hub", slog.LevelWarn)
	if err != nil {
		return res, err
	}
	defer stop()

	time.Sleep(1500 * time.Millisecond) // let the services settle before the baseline
	heap0, stack0, gor0 := liveMemory()

	gens := make([]*loadGen, procs)
	for i := range gens {
		n := clients / procs
		if i < clients%procs {
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

	bar := progressbar.NewOptions(clients, progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription("connecting"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	start := time.Now()
	for _, g := range gens {
		line, err := readUntil(g, func(l loadLine) bool {
			if l.Progress > 0 {
				bar.Add(l.Progress)
			}
			return l.Ready
		})
		if err != nil {
			return res, err
		}
		res.Clients += line.Connected
		res.ConnectFailed += line.Failed
	}
	bar.Finish()
	res.ConnectSeconds = time.Since(start).Seconds()

	// Publish at the fixed rate; take the memory reading half-way, with every
	// connection live and its queue in use.
	var heap1, stack1 uint64
	var gor1 int
	total, err := publishTicks(ctx, env.Stderr, srv, seconds, rate, func() { heap1, stack1, gor1 = liveMemory() })
	if err != nil {
		return res, err
	}
	time.Sleep(time.Second) // the last frames in flight
	res.Expected = uint64(total) * uint64(res.Clients)

	var hist latencyHist
	for _, g := range gens {
		fmt.Fprintln(g.stdin, "stop")
		line, err := readUntil(g, func(l loadLine) bool { return l.Done })
		if err != nil {
			return res, err
		}
		res.Delivered += line.Received
		res.Disconnected += line.Dropped
		hist.AddSparse(line.Hist, line.MaxUS)
	}
	res.DeliveredPerS = float64(res.Delivered) / seconds
	res.P50ms = float64(hist.Quantile(0.50)) / 1000
	res.P99ms = float64(hist.Quantile(0.99)) / 1000
	res.MaxMs = float64(hist.MaxUS.Load()) / 1000
	res.SlowKicked = srv.Hub.Stats().SlowKicked
	if res.Clients > 0 {
		n := float64(res.Clients)
		res.HeapBytesPerConn = float64(int64(heap1)-int64(heap0)) / n
		res.StackBytesPerCon = float64(int64(stack1)-int64(stack0)) / n
		res.GoroutinesPerCon = float64(gor1-gor0) / n
	}
	return res, nil
}

// startBenchServer starts a real server (temporary data directory, real
// HTTP listener) logging at level and above, and returns it, its web socket
// URL and how to stop it.
func startBenchServer(ctx context.Context, env command.Env, name string, level slog.Level) (*app.App, string, func(), error) {
	dir, err := os.MkdirTemp("", "metastation-bench-"+name+"-")
	if err != nil {
		return nil, "", nil, fmt.Errorf("temporary data dir: %w", err)
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	srv, err := app.New(ctx, app.Config{Addr: "127.0.0.1:0", DataDir: dir, Seed: 1, NoBrowser: true}, log, env.Assets)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	url, err := web.Start(ctx, srv)
	if err != nil {
		srv.Shutdown(context.Background())
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	stop := func() {
		srv.Shutdown(context.Background())
		os.RemoveAll(dir)
	}
	return srv, "ws" + strings.TrimSuffix(strings.TrimPrefix(url, "http"), "/") + "/ws", stop, nil
}

// publishTicks publishes bench ticks at rate for seconds with a progress bar
// and returns how many it published; half-way it calls midway (if not nil).
func publishTicks(ctx context.Context, stderr io.Writer, srv *app.App, seconds, rate float64, midway func()) (int, error) {
	total := int(seconds * rate)
	interval := time.Duration(float64(time.Second) / rate)
	pbar := progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("publishing"), progressbar.OptionClearOnFinish())
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; i < total; i++ {
		select {
		case <-ctx.Done():
			return i, ctx.Err()
		case <-tick.C:
		}
		srv.Bus.Publish(bus.Envelope{Topic: benchTopic, From: "bench", Kind: "tick", Payload: benchTick{SentNs: time.Now().UnixNano()}})
		pbar.Add(1)
		if i == total/2 && midway != nil {
			midway()
		}
	}
	pbar.Finish()
	return total, nil
}

// liveMemory forces a collection and returns the live heap, the goroutine
// stacks in use and the number of goroutines.
func liveMemory() (heap, stack uint64, goroutines int) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine()
}

func readUntil(g *loadGen, stop func(loadLine) bool) (loadLine, error) {
	for g.lines.Scan() {
		var l loadLine
		if err := json.Unmarshal(g.lines.Bytes(), &l); err != nil {
			return l, fmt.Errorf("load generator said %q: %w", g.lines.Text(), err)
		}
		if l.Err != "" {
			return l, fmt.Errorf("load generator: %s", l.Err)
		}
		if stop(l) {
			return l, nil
		}
	}
	if err := g.lines.Err(); err != nil {
		return loadLine{}, fmt.Errorf("read load generator: %w", err)
	}
	return loadLine{}, errors.New("load generator exited early")
}

// startLoadGen runs hubLoad in a child process (this same binary), so that
// the server's memory figures are its own; or in this process when inProc.
func startLoadGen(ctx context.Context, wsURL string, n int, inProc bool) (*loadGen, error) {
	if inProc {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := hubLoad(ctx, wsURL, n, inR, outW)
			outW.CloseWithError(err)
			done <- err
		}()
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		return &loadGen{stdin: inW, lines: sc, wait: func() error { return <-done }}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable for the load generator: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "hub", "--load-generator", wsURL, "--clients", strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start load generator: %w", err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	return &loadGen{stdin: stdin, lines: sc, wait: cmd.Wait}, nil
}

// hubLoad connects n clients to wsURL, subscribes each to the bench topic,
// and records the latency of every message until "stop" arrives on in. It
// speaks JSON lines on out (see loadLine).
func hubLoad(ctx context.Context, wsURL string, n int, in io.Reader, out io.Writer) error {
	enc := json.NewEncoder(out)
	if _, err := raiseOpenFiles(uint64(n) + 1024); err != nil {
		enc.Encode(loadLine{Err: err.Error()})
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		hist       latencyHist
		received   atomic.Uint64
		dropped    atomic.Int64
		connected  atomic.Int64
		failed     atomic.Int64
		progressMu sync.Mutex
		sinceLast  int
		wg         sync.WaitGroup
	)
	stopping := make(chan struct{})
	report := func(ok bool) {
		progressMu.Lock()
		defer progressMu.Unlock()
		sinceLast++
		if sinceLast >= 500 {
			enc.Encode(loadLine{Progress: sinceLast})
			sinceLast = 0
		}
		if ok {
			connected.Add(1)
		} else {
			failed.Add(1)
		}
	}
	jobs := make(chan int)
	sub := []byte(`{"type":"subscribe","topics":["` + benchTopic + `"]}`)
	var dialers sync.WaitGroup
	for w := 0; w < 64; w++ {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for range jobs {
				c, err := dialAdmitted(ctx, wsURL, nil)
				if err == nil {
					err = c.Write(ctx, websocket.MessageText, sub)
				}
				if err == nil {
					err = awaitSubscribed(ctx, c)
				}
				if err != nil {
					report(false)
					continue
				}
				report(true)
				wg.Add(1)
				go func() {
					defer wg.Done()
					readBench(ctx, c, &hist, &received, &dropped, stopping)
				}()
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	dialers.Wait()
	progressMu.Lock()
	enc.Encode(loadLine{Progress: sinceLast, Ready: true, Connected: int(connected.Load()), Failed: int(failed.Load())})
	progressMu.Unlock()

	// Until "stop" (or the end of input): "mark" reports what arrived since
	// the last mark and starts afresh, so one set of clients can measure
	// several phases.
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd := strings.TrimSpace(sc.Text())
		if cmd == "stop" {
			break
		}
		if cmd == "mark" {
			hs, maxUS := hist.Take()
			enc.Encode(loadLine{Mark: true, Received: received.Swap(0), Dropped: int(dropped.Load()), Hist: hs, MaxUS: maxUS})
		}
	}
	close(stopping)
	cancel()
	wg.Wait()
	return enc.Encode(loadLine{Done: true, Received: received.Load(), Dropped: int(dropped.Load()), Hist: hist.Sparse(), MaxUS: hist.MaxUS.Load()})
}

// awaitSubscribed reads past the hello until the server acknowledges the
// subscription, so no published message can be missed.
func awaitSubscribed(ctx context.Context, c *websocket.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(`"type":"subscribed"`)) {
			return nil
		}
	}
}

var sentKey = []byte(`"sent_ns":`)

// readBench reads frames until the connection ends, recording each bench
// message's latency from its publish time.
func readBench(ctx context.Context, c *websocket.Conn, hist *latencyHist, received *atomic.Uint64, dropped *atomic.Int64, stopping <-chan struct{}) {
	defer c.CloseNow()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			select {
			case <-stopping:
			default:
				dropped.Add(1) // the server closed on us during the run
			}
			return
		}
		now := time.Now().UnixNano()
		for {
			i := bytes.Index(data, sentKey)
			if i < 0 {
				break
			}
			data = data[i+len(sentKey):]
			j := bytes.IndexAny(data, ",}")
			if j < 0 {
				break
			}
			sent, err := strconv.ParseInt(string(data[:j]), 10, 64)
			if err != nil {
				break
			}
			received.Add(1)
			if d := now - sent; d > 0 {
				hist.Record(uint64(d / 1000))
			} else {
				hist.Record(0)
			}
		}
	}
}

// dialAdmitted dials like a page does: when the hub refuses a new socket
// for its accept rate (503), it waits a second and tries again.
func dialAdmitted(ctx context.Context, wsURL string, hdr http.Header) (*websocket.Conn, error) {
	for {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, resp, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPHeader: hdr})
		cancel()
		if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
