package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/metastation/metastation/app/atomicfile"
	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/store"
)

// runMarket is `metastation market simulate|import|fetch|fit`.
func runMarket(ctx context.Context, env command.Env, args []string) error {
	if len(args) > 0 && command.IsHelpFlag(args[0]) {
		fmt.Fprintln(env.Stdout, "Usage: metastation market simulate|import|fetch|fit|crash-study [flags]; 'metastation market <sub> --help' for each one's flags.")
		return nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return command.Usagef("market needs a subcommand: simulate, import, fetch, fit or crash-study")
	}
	switch args[0] {
	case "simulate":
		return runMarketSimulate(env, args[1:])
	case "import":
		return runMarketImport(ctx, env, args[1:])
	case "fetch":
		return runMarketFetch(ctx, env, args[1:])
	case "fit":
		return runMarketFit(env, args[1:])
	case "crash-study":
		return runMarketCrashStudy(ctx, env, args[1:])
	}
	return command.Usagef("unknown market subcommand %q (simulate, import, fetch, fit or crash-study)", args[0])
}

// runMarketSimulate writes simulated bars per instrument in the Yahoo CSV
// layout.
func runMarketSimulate(env command.Env, args []string) error {
	fs := command.NewFlagSet("market simulate", env.Stderr)
	preset := fs.String("preset", "equity", "preset universe: "+strings.Join(market.PresetNames(), ", "))
	universe := fs.String("universe", "", "JSON `file` of your own universe (instead of --preset)")
	days := fs.Int("days", 252, "trading days to simulate")
	seed := fs.Uint64("seed", 1, "random `seed`; the same seed gives the same bars")
	interval := fs.String("interval", "1d", "bar interval: 1d, 1h or 1m")
	start := fs.String("start", "2026-01-05", "first day, YYYY-MM-DD")
	symbol := fs.String("symbol", "", "write only this instrument")
	out := fs.String("out", "", "output `FILE.csv`; with several instruments, FILE-SYMBOL.csv each")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *out == "" {
		return command.Usagef("market simulate: --out FILE.csv is required")
	}
	iv, err := market.ParseInterval(*interval)
	if err != nil {
		return command.Usagef("market simulate: %v", err)
	}
	day, err := time.Parse(time.DateOnly, *start)
	if err != nil {
		return command.Usagef("market simulate: --start %q is not a date like 2026-01-05", *start)
	}
	u, err := marketUniverse(*preset, *universe)
	if err != nil {
		return command.Usagef("market simulate: %v", err)
	}
	if *symbol != "" {
		i := u.Index(*symbol)
		if i < 0 {
			return command.Usagef("market simulate: no instrument %q in universe %s", *symbol, u.Name)
		}
		u.Instruments = u.Instruments[i : i+1]
		u.Correlation = [][]float64{{1}}
	}
	bars, err := market.SimulateBars(u, *days, *seed, iv, day)
	if err != nil {
		return command.Usagef("market simulate: %v", err)
	}
	for i, in := range u.Instruments {
		path := *out
		if len(u.Instruments) > 1 {
			ext := filepath.Ext(path)
			path = strings.TrimSuffix(path, ext) + "-" + in.Symbol + ext
		}
		if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return market.WriteYahoo(w, bars[i]) }); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: %d %s bars of %s\n", path, len(bars[i]), iv, in.Symbol)
	}
	return nil
}

func marketUniverse(preset, file string) (market.Universe, error) {
	if file == "" {
		return market.Preset(preset)
	}
	f, err := os.Open(file)
	if err != nil {
		return market.Universe{}, err
	}
	defer f.Close()
	return market.LoadUniverse(f)
}

// leadingArg takes the FILE or SYMBOL (what) given before the flags of fs.
// Asked for help instead (market import --help), it prints fs's usage and
// returns flag.ErrHelp, as a command's --help does.
func leadingArg(fs *flag.FlagSet, what string, args []string) (string, []string, error) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:], nil
	}
	for _, a := range args {
		switch a {
		case "-h", "-help", "--h", "--help":
			fs.Usage()
			return "", nil, flag.ErrHelp
		}
	}
	return "", nil, command.Usagef("%s needs a %s before its flags (see metastation %s --help)", fs.Name(), what, fs.Name())
}

// synopsis makes fs's --help start with the command's form and what it
// does, then its flags (command.NewFlagSet's usage).
func synopsis(fs *flag.FlagSet, form, about string) {
	flags := fs.Usage
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: metastation %s\n\n%s\n\n", form, about)
		flags()
	}
}

// marketReadSeries reads a Yahoo or Alpha Vantage file.
func marketReadSeries(path, format string) (market.Series, market.ImportReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return market.Series{}, market.ImportReport{}, err
	}
	defer f.Close()
	// A price file is a regular file: a device or a pipe (/dev/zero) could
	// be read forever.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return market.Series{}, market.ImportReport{}, command.Usagef("%s is not a regular file; import a saved price file", path)
	}
	switch format {
	case "yahoo":
		return market.ParseYahoo(f)
	case "alphavantage":
		return market.ParseAlphaVantage(f)
	}
	return market.Series{}, market.ImportReport{}, command.Usagef("--format must be yahoo or alphavantage, not %q", format)
}

// runMarketImport checks a price file and loads it into the database, all
// or nothing.
func runMarketImport(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("market import", env.Stderr)
	synopsis(fs, "market import FILE [flags]", "Checks a daily price file (Yahoo Finance CSV or Alpha Vantage) and loads it into the\ndatabase, all or nothing: the Market page then offers it as an instrument.")
	symbol := fs.String("symbol", "", "symbol to file the series under (default: the file name)")
	format := fs.String("format", "yahoo", "file format: yahoo (CSV) or alphavantage (saved TIME_SERIES_DAILY JSON or CSV)")
	data := fs.String("data", defaultDataDir(env.Getenv), "data `directory` holding the database")
	dry := fs.Bool("dry-run", false, "check the file and report, write nothing")
	file, args, err := leadingArg(fs, "FILE", args)
	if err != nil {
		return err
	}
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	s, rep, err := marketReadSeries(file, *format)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if *symbol != "" {
		s.Symbol = *symbol
	} else if s.Symbol == "" {
		s.Symbol = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	fmt.Fprintf(env.Stdout, "%s: %d rows of %s from %s to %s\n", file, rep.Rows, s.Symbol,
		s.Bars[0].Time.Format(time.DateOnly), s.Bars[len(s.Bars)-1].Time.Format(time.DateOnly))
	if rep.NullRows > 0 {
		fmt.Fprintf(env.Stdout, "  %d null rows skipped, at lines %v\n", rep.NullRows, rep.NullLines)
	}
	for _, n := range rep.Inconsistent {
		fmt.Fprintf(env.Stdout, "  line %d: %s (kept)\n", n.Line, n.Msg)
	}
	for _, n := range rep.Outliers {
		fmt.Fprintf(env.Stdout, "  line %d: outlier: %s (kept)\n", n.Line, n.Msg)
	}
	if *dry {
		return nil
	}
	db, err := store.Open(ctx, filepath.Join(*data, store.FileName), env.Assets.Migrations)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := market.ImportSeries(ctx, db.W, s); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "imported into %s\n", db.Path)
	return nil
}

// runMarketFit fits a GJR-GARCH-t to a price file and prints the
// parameters and the stylized facts.
func runMarketFit(env command.Env, args []string) error {
	fs := command.NewFlagSet("market fit", env.Stderr)
	synopsis(fs, "market fit FILE [flags]", "Fits a GJR-GARCH model with Student-t shocks to a daily price file and prints its\nparameters and the file's stylized facts (fat tails, volatility clustering, leverage).")
	format := fs.String("format", "yahoo", "file format: yahoo or alphavantage")
	days := fs.Float64("days-per-year", 0, "trading days a year (default: guessed from the file name: 252, 260 for FX, 365 for crypto)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	file, args, err := leadingArg(fs, "FILE", args)
	if err != nil {
		return err
	}
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	s, _, err := marketReadSeries(file, *format)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if *days == 0 {
		*days = market.DaysPerYearOf(filepath.Base(file))
	}
	r := s.Returns()
	fit, err := market.FitGARCH(r, true)
	if err != nil {
		return err
	}
	facts, err := market.ComputeFacts(r, *days)
	if err != nil {
		return err
	}
	facts.ACFR, facts.ACFAbs = nil, nil
	if *asJSON {
		b, _ := json.Marshal(map[string]any{"fit": fit, "annual_vol": fit.AnnualVol(*days), "facts": facts})
		fmt.Fprintln(env.Stdout, string(b))
		return nil
	}
	fmt.Fprintf(env.Stdout, "%s: %d returns\n", file, len(r))
	fmt.Fprintf(env.Stdout, "GJR-GARCH-t: alpha %.4f gamma %.4f beta %.4f nu %.2f, persistence %.4f, long-run vol %.1f%%\n",
		fit.Alpha, fit.Gamma, fit.Beta, fit.Nu, fit.Persistence(), 100*fit.AnnualVol(*days))
	fmt.Fprintf(env.Stdout, "facts: excess kurtosis %.1f, ACF(r,1) %.3f, ACF(|r|,1) %.3f, S20 %.2f, leverage %.3f, Hill %.2f\n",
		facts.ExcessKurtosis, facts.ACFR1, facts.ACFAbsR1, facts.S20, facts.Leverage, facts.HillTail)
	return nil
}

// avKeyEnv names the environment variable holding the Alpha Vantage key. It
// is not a flag, so the key stays out of shell history and process lists.
const avKeyEnv = "METASTATION_ALPHAVANTAGE_KEY"

// avQuotaFile, in the data directory, keeps the client-side free-tier
// quota between runs, so that six `market fetch` in a minute are refused
// like six calls in one process.
const avQuotaFile = "alphavantage-quota.json"

// runMarketFetch downloads daily bars of SYMBOL from Alpha Vantage
// (TIME_SERIES_DAILY) and writes them as Yahoo CSV or imports them.
func runMarketFetch(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("market fetch", env.Stderr)
	synopsis(fs, "market fetch SYMBOL (--out FILE.csv | --import) [flags]", "Downloads daily bars of SYMBOL from Alpha Vantage (TIME_SERIES_DAILY) and writes them as\nYahoo CSV or imports them. The API key comes from "+avKeyEnv+" (free keys at\nhttps://www.alphavantage.co/support/#api-key); the free tier's quota is kept between runs.")
	out := fs.String("out", "", "write the bars to `FILE.csv` in the Yahoo layout")
	imp := fs.Bool("import", false, "import the bars into the database, as market import does")
	as := fs.String("symbol", "", "with --import, the symbol to file the series under (default: SYMBOL)")
	size := fs.String("outputsize", "compact", "compact (the latest 100 days) or full (20+ years)")
	datatype := fs.String("datatype", "json", "format asked of Alpha Vantage: json or csv")
	data := fs.String("data", defaultDataDir(env.Getenv), "data `directory` holding the database and the request quota")
	base := fs.String("alphavantage-url", market.AVDefaultURL, "Alpha Vantage query `URL` (a local fake for testing)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of the request")
	symbol, args, err := leadingArg(fs, "SYMBOL", args)
	if err != nil {
		return err
	}
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if (*out == "") == !*imp {
		return command.Usagef("market fetch: give exactly one of --out FILE.csv and --import")
	}
	key := strings.TrimSpace(env.Getenv(avKeyEnv))
	if key == "" {
		return fmt.Errorf("market fetch: no Alpha Vantage API key: set %s (free keys at https://www.alphavantage.co/support/#api-key)", avKeyEnv)
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return fmt.Errorf("market fetch: %w", err)
	}
	quotaPath := filepath.Join(*data, avQuotaFile)
	limiter := market.NewAVLimiter(market.AVFreePerMinute, market.AVFreePerDay)
	if b, err := os.ReadFile(quotaPath); err == nil {
		var q market.AVQuota
		if err := json.Unmarshal(b, &q); err != nil {
			return fmt.Errorf("market fetch: the quota file %s cannot be read (delete it to start afresh): %w", quotaPath, err)
		}
		limiter.SetQuota(q)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("market fetch: %w", err)
	}
	c := &market.AVClient{BaseURL: *base, APIKey: key, Timeout: *timeout, Limiter: limiter}
	before := limiter.Quota()
	s, err := c.Daily(ctx, symbol, *size, *datatype)
	if q := limiter.Quota(); q != before {
		b, _ := json.Marshal(q)
		if werr := atomicfile.WriteFile(quotaPath, b, 0o644); werr != nil {
			fmt.Fprintf(env.Stderr, "warning: the request quota was not saved: %v\n", werr)
		}
	}
	if err != nil {
		return fmt.Errorf("market fetch: %w", err)
	}
	q := limiter.Quota()
	fmt.Fprintf(env.Stdout, "%s: %d daily bars from %s to %s (%d of %d requests used today, UTC)\n", s.Symbol, len(s.Bars),
		s.Bars[0].Time.Format(time.DateOnly), s.Bars[len(s.Bars)-1].Time.Format(time.DateOnly), q.Used, market.AVFreePerDay)
	if *out != "" {
		bars := make([]market.Bar, len(s.Bars))
		for k, b := range s.Bars {
			bars[k] = market.Bar{Symbol: s.Symbol, Interval: market.Day, Time: b.Time,
				Open: b.Open, High: b.High, Low: b.Low, Close: b.Close, Volume: b.Volume}
		}
		if err := atomicfile.Write(*out, 0o644, func(w io.Writer) error { return market.WriteYahoo(w, bars) }); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote %s\n", *out)
		return nil
	}
	if *as != "" {
		s.Symbol = *as
	}
	db, err := store.Open(ctx, filepath.Join(*data, store.FileName), env.Assets.Migrations)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := market.ImportSeries(ctx, db.W, s); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "imported %s into %s\n", s.Symbol, db.Path)
	return nil
}

// runMarketCrashStudy is `metastation market crash-study`: the scripted
// flash crash against a calm twin on the same seeds, as a table.
func runMarketCrashStudy(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("market crash-study", env.Stderr)
	synopsis(fs, "market crash-study [flags]", "Runs the scripted flash crash ("+market.CrashScript+")\nand a calm twin on the same seeds and prints the spread, the depth of the book and the\ntraded price, each as a mean with its 95% interval over the seeds.")
	preset := fs.String("preset", "equity", "preset universe: "+strings.Join(market.PresetNames(), ", "))
	symbol := fs.String("symbol", "", "the instrument measured (default: the preset's first)")
	agents := fs.Int("agents", 2000, "background agents")
	seeds := fs.Int("seeds", 5, "seeds 1..N")
	asJSON := fs.Bool("json", false, "print the study as one JSON object")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *seeds < 2 || *seeds > 100 || *agents < 10 || *agents > market.MaxAgents {
		return command.Usagef("market crash-study: --seeds in [2, 100], --agents in [10, %d]", market.MaxAgents)
	}
	cfg := market.CrashStudyConfig{Preset: *preset, Symbol: *symbol, Agents: *agents}
	for k := 1; k <= *seeds; k++ {
		cfg.Seeds = append(cfg.Seeds, uint64(k))
	}
	st, err := market.RunCrashStudy(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, string(b))
		return nil
	}
	fmt.Fprint(env.Stdout, market.CrashTable(st))
	return nil
}
