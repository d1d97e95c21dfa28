package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/store"
)

// runModels is `metastation models list|show|register|alias|rollback`: the
// model registry of a data directory, the same one the server serves (a
// running server sees the CLI's changes within seconds, and its champion
// entrant follows a moved champion alias).
func runModels(ctx context.Context, env command.Env, args []string) error {
	if len(args) > 0 && command.IsHelpFlag(args[0]) {
		fmt.Fprintln(env.Stdout, "Usage: metastation models list|show|register|alias|rollback [flags]; 'metastation models <sub> --help' for each one's flags.")
		return nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return command.Usagef("models needs a subcommand: list, show, register, alias or rollback")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		return runModelsList(ctx, env, args)
	case "show":
		return runModelsShow(ctx, env, args)
	case "register":
		return runModelsRegister(ctx, env, args)
	case "alias":
		return runModelsAlias(ctx, env, args)
	case "rollback":
		return runModelsRollback(ctx, env, args)
	}
	return command.Usagef("unknown models subcommand %q (list, show, register, alias or rollback)", sub)
}

const cliActor = "cli"

// openModels opens the registry of the data directory dir, and a service
// on it (not running: it only logs the CLI's decisions to the audit log).
// Only a registration creates the database of a new data directory.
func openModels(ctx context.Context, env command.Env, dir string, create bool) (*mlops.Service, func(), error) {
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil && !create {
		return nil, nil, errs.Errorf(errs.NotFound, "there is no database in %s (run metastation once, or give --data)", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, store.FileName), env.Assets.Migrations)
	if err != nil {
		return nil, nil, err
	}
	reg, err := mlops.OpenRegistry(db, dir)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return mlops.NewService(reg, mlops.Config{}, nil, log), func() { db.Close() }, nil
}

func modelsFlags(name, form, about string, env command.Env) (*flag.FlagSet, *string, *bool) {
	fs := command.NewFlagSet(name, env.Stderr)
	synopsis(fs, form, about)
	data := fs.String("data", defaultDataDir(env.Getenv), "data `directory` holding the database and the models")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	return fs, data, asJSON
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func versionText(v int) string {
	if v == 0 {
		return "–"
	}
	return "v" + strconv.Itoa(v)
}

// runModelsList prints every registered model.
func runModelsList(ctx context.Context, env command.Env, args []string) error {
	fs, data, asJSON := modelsFlags("models list", "models list [flags]", "Lists the registered models with their latest version, champion and challenger.", env)
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	s, done, err := openModels(ctx, env, *data, false)
	if err != nil {
		return err
	}
	defer done()
	ms, err := s.Registry().Models(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if ms == nil {
			ms = []mlops.Model{}
		}
		return printJSON(env.Stdout, ms)
	}
	if len(ms) == 0 {
		fmt.Fprintln(env.Stdout, "No models registered yet.")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tKIND\tVERSIONS\tCHAMPION\tCHALLENGER\tOTHER ALIASES")
	for _, m := range ms {
		var other []string
		for a, v := range m.Aliases {
			if a != mlops.Champion && a != mlops.Challenger {
				other = append(other, fmt.Sprintf("%s=v%d", a, v))
			}
		}
		sort.Strings(other)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", m.Name, m.Kind, m.Versions, versionText(m.Aliases[mlops.Champion]), versionText(m.Aliases[mlops.Challenger]), strings.Join(other, " "))
	}
	return tw.Flush()
}

// runModelsShow prints a model's versions, alias history and latest decisions.
func runModelsShow(ctx context.Context, env command.Env, args []string) error {
	fs, data, asJSON := modelsFlags("models show", "models show MODEL [flags]", "Shows a model's versions with lineage and metrics, its alias history and its latest decisions.", env)
	name, args, err := leadingArg(fs, "MODEL", args)
	if err != nil {
		return err
	}
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	s, done, err := openModels(ctx, env, *data, false)
	if err != nil {
		return err
	}
	defer done()
	reg := s.Registry()
	m, err := reg.Model(ctx, name)
	if err != nil {
		return err
	}
	vs, err := reg.Versions(ctx, name)
	if err != nil {
		return err
	}
	h, err := reg.History(ctx, name, "")
	if err != nil {
		return err
	}
	es, err := reg.Events(ctx, name, 10)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, map[string]any{"model": m, "versions": vs, "history": h, "events": es})
	}
	fmt.Fprintf(env.Stdout, "%s (%s): %s\n\n", m.Name, m.Kind, m.Description)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tALIASES\tREGISTERED\tLINEAGE\tSHA256\tMETRICS")
	for _, v := range vs {
		lin := strings.TrimSpace(fmt.Sprintf("%s %s seed %d", v.Lineage.Source, v.Lineage.Run, v.Lineage.Seed))
		fmt.Fprintf(tw, "v%d\t%s\t%s\t%s\t%s…\t%s\n", v.Version, strings.Join(v.Aliases, ","), v.Created.Local().Format(time.DateTime), lin, v.SHA256[:12], metricsText(v.Metrics))
	}
	tw.Flush()
	fmt.Fprintln(env.Stdout, "\nAlias history:")
	for _, mv := range h {
		fmt.Fprintf(env.Stdout, "  %s  %s → %s (was %s) by %s%s\n", mv.At.Local().Format(time.DateTime), mv.Alias, versionText(mv.Version), versionText(mv.Previous), mv.Actor, reasonText(mv.Reason))
	}
	if len(es) > 0 {
		fmt.Fprintln(env.Stdout, "\nLatest decisions:")
		for _, e := range es {
			fmt.Fprintf(env.Stdout, "  %s  %-8s %s: %s\n", e.At.Local().Format(time.DateTime), e.Kind, e.Actor, e.Decision)
		}
	}
	return nil
}

func metricsText(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%.4g", k, m[k])
	}
	return strings.Join(parts, " ")
}

func reasonText(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// pairs is a repeatable --flag key=value.
type pairs map[string]string

func (p pairs) String() string { return "" }
func (p pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	p[k] = v
	return nil
}

// runModelsRegister registers an artifact file as a new version.
func runModelsRegister(ctx context.Context, env command.Env, args []string) error {
	fs, data, asJSON := modelsFlags("models register", "models register MODEL --file FILE --kind KIND [flags]",
		"Registers a model file as MODEL's next version: a trading-world checkpoint (trading-policy), a PPO/SAC\ncheckpoint (rl-policy) or a fraud detector (fraud-detector). The file must load as that kind; it is stored\nunder its sha256 and checked on every load.", env)
	file := fs.String("file", "", "model `file` to register")
	kind := fs.String("kind", "", "model kind: "+mlops.KindTrading+", "+mlops.KindRL+" or "+mlops.KindFraud)
	alias := fs.String("alias", "", "point this `alias` (champion, challenger, any name) at the new version")
	desc := fs.String("description", "", "the model's description, on its first version")
	seed := fs.Uint64("seed", 0, "seed it was trained with, for the lineage")
	run := fs.String("run", "", "the training run or job it came from, for the lineage (\"marl run 4\")")
	metrics, params, tags := pairs{}, pairs{}, pairs{}
	fs.Var(metrics, "metric", "a metric `name=number` (repeatable)")
	fs.Var(params, "param", "a parameter `name=value` (repeatable)")
	fs.Var(tags, "tag", "a tag `name=value` (repeatable)")
	name, args, err := leadingArg(fs, "MODEL", args)
	if err != nil {
		return err
	}
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *file == "" || *kind == "" {
		return command.Usagef("models register: --file and --kind are required")
	}
	ms := map[string]float64{}
	for k, v := range metrics {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return command.Usagef("models register: --metric %s=%q is not a number", k, v)
		}
		ms[k] = x
	}
	art, err := readArtifact(*file)
	if err != nil {
		return err
	}
	s, done, err := openModels(ctx, env, *data, true)
	if err != nil {
		return err
	}
	defer done()
	v, err := s.Registry().Register(ctx, mlops.RegisterRequest{Model: name, Kind: *kind, Description: *desc, Artifact: art,
		Lineage: mlops.Lineage{Source: "cli", Run: *run, Seed: *seed, DataHash: ""}, Params: params, Metrics: ms, Tags: tags})
	if err != nil {
		return err
	}
	if *alias != "" {
		if _, err := s.SetAlias(ctx, name, *alias, v.Version, cliActor, "set at registration"); err != nil {
			return fmt.Errorf("registered %s v%d, but the alias was not set: %w", name, v.Version, err)
		}
		if v, err = s.Registry().Version(ctx, name, v.Version); err != nil {
			return err
		}
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	fmt.Fprintf(env.Stdout, "Registered %s v%d (sha256 %s…, %d bytes)%s.\n", name, v.Version, v.SHA256[:12], v.Size, aliasesText(v.Aliases))
	return nil
}

func aliasesText(as []string) string {
	if len(as) == 0 {
		return ""
	}
	return "; aliases " + strings.Join(as, ", ")
}

func readArtifact(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, mlops.MaxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > mlops.MaxArtifactBytes {
		return nil, errs.Errorf(errs.TooLarge, "%s is larger than the %d MB a model may be", path, mlops.MaxArtifactBytes>>20)
	}
	return data, nil
}

// runModelsAlias shows, moves, removes or looks back at an alias.
func runModelsAlias(ctx context.Context, env command.Env, args []string) error {
	fs, data, asJSON := modelsFlags("models alias", "models alias MODEL ALIAS [VERSION] [flags]",
		"With VERSION, points ALIAS at it (after checking its artifact). With --at T, says which version ALIAS\nnamed at T. With --delete, removes it. With none, shows it and its history.", env)
	at := fs.String("at", "", "a `time` (RFC 3339, 2026-12-03T17:00:00Z): which version the alias named then")
	del := fs.Bool("delete", false, "remove the alias (its history is kept)")
	reason := fs.String("reason", "", "why, for the alias history and the audit log")
	var pos []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") && len(pos) < 3 {
		pos, args = append(pos, args[0]), args[1:]
	}
	if len(pos) < 2 {
		if _, _, err := leadingArg(fs, "MODEL and an ALIAS", args); err != nil {
			return err
		}
		return command.Usagef("models alias needs a MODEL and an ALIAS before its flags")
	}
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	name, alias := pos[0], pos[1]
	s, done, err := openModels(ctx, env, *data, false)
	if err != nil {
		return err
	}
	defer done()
	reg := s.Registry()
	switch {
	case len(pos) == 3:
		if *at != "" || *del {
			return command.Usagef("models alias: give a VERSION, --at or --delete, one of them")
		}
		n, err := strconv.Atoi(strings.TrimPrefix(pos[2], "v"))
		if err != nil || n < 1 {
			return command.Usagef("models alias: VERSION is a whole number from 1, not %q", pos[2])
		}
		m, err := s.SetAlias(ctx, name, alias, n, cliActor, *reason)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Stdout, m)
		}
		fmt.Fprintf(env.Stdout, "%s of %s now names v%d (was %s).\n", alias, name, m.Version, versionText(m.Previous))
		return nil
	case *del:
		m, err := s.DeleteAlias(ctx, name, alias, cliActor, *reason)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Stdout, m)
		}
		fmt.Fprintf(env.Stdout, "%s of %s removed (it named v%d).\n", alias, name, m.Previous)
		return nil
	case *at != "":
		t, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return command.Usagef("models alias: --at %q is not a time like 2026-12-03T17:00:00Z", *at)
		}
		m, err := reg.AliasAt(ctx, name, alias, t)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Stdout, m)
		}
		if m.Version == 0 {
			fmt.Fprintf(env.Stdout, "At %s, %s of %s had been removed (on %s by %s%s).\n", t.Format(time.RFC3339), alias, name, m.At.Format(time.RFC3339), m.Actor, reasonText(m.Reason))
			return nil
		}
		fmt.Fprintf(env.Stdout, "At %s, %s of %s named v%d (since %s, moved by %s%s).\n", t.Format(time.RFC3339), alias, name, m.Version, m.At.Format(time.RFC3339), m.Actor, reasonText(m.Reason))
		return nil
	}
	v, err := reg.Resolve(ctx, name, alias)
	if err != nil {
		return err
	}
	h, err := reg.History(ctx, name, alias)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, map[string]any{"version": v.Version, "history": h})
	}
	fmt.Fprintf(env.Stdout, "%s of %s names v%d.\n", alias, name, v.Version)
	for _, mv := range h {
		fmt.Fprintf(env.Stdout, "  %s  → %s (was %s) by %s%s\n", mv.At.Format(time.RFC3339), versionText(mv.Version), versionText(mv.Previous), mv.Actor, reasonText(mv.Reason))
	}
	return nil
}

// runModelsRollback moves an alias (the champion) back to the version it
// named before.
func runModelsRollback(ctx context.Context, env command.Env, args []string) error {
	fs, data, asJSON := modelsFlags("models rollback", "models rollback MODEL --reason WHY [flags]",
		"Moves the champion (or --alias) back to the version it named before its current one; a running\nserver's tournament trades that version from the next round.", env)
	alias := fs.String("alias", mlops.Champion, "the `alias` to roll back")
	reason := fs.String("reason", "", "why (required): it goes into the alias history and the audit log")
	name, args, err := leadingArg(fs, "MODEL", args)
	if err != nil {
		return err
	}
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return command.Usagef("models rollback: say why with --reason \"...\"")
	}
	s, done, err := openModels(ctx, env, *data, false)
	if err != nil {
		return err
	}
	defer done()
	m, err := s.Rollback(ctx, name, *alias, cliActor, *reason)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, m)
	}
	fmt.Fprintf(env.Stdout, "%s of %s rolled back from v%d to v%d.\n", *alias, name, m.Previous, m.Version)
	return nil
}
