package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/media"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/store"
)

// runIngest is `metastation ingest FILE...`: each file read into the
// memory of the data directory, as the Media page does, with a progress bar.
// A running server reads the new memories at its next start.
func runIngest(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("ingest", env.Stderr)
	data := fs.String("data", defaultDataDir(env.Getenv), "data `directory` holding the database and the originals")
	quiet := fs.Bool("quiet", false, "no progress bar")
	asJSON := fs.Bool("json", false, "print each result as one JSON object per line")
	flags, files := splitIngestArgs(args)
	if err := command.ParseFlags(fs, flags, env.Getenv); err != nil {
		return err
	}
	if len(files) == 0 {
		return command.Usagef("ingest needs one or more files: metastation ingest [--data DIR] FILE...")
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return command.Usagef("ingest: %v", err)
		}
		if !st.Mode().IsRegular() {
			return command.Usagef("ingest: %s is not a regular file", f)
		}
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := store.Open(ctx, filepath.Join(*data, store.FileName), env.Assets.Migrations)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer db.Close()
	w := store.NewWriter(db, store.WriterOptions{}, log)
	defer w.Close()
	emb, err := memory.NewEmbedder()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	mem, err := memory.Open(ctx, memory.Config{}, db, w, emb, log)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	p, err := media.NewPipeline(ctx, media.Config{Dir: filepath.Join(*data, "media")}, db, mem, log)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if n, err := p.Recover(ctx); err != nil {
		return fmt.Errorf("ingest: %w", err)
	} else if n > 0 {
		fmt.Fprintf(env.Stdout, "completed %d item(s) an earlier stop had interrupted\n", n)
	}
	failed := 0
	start := time.Now()
	for i, name := range files {
		res, err := ingestFile(ctx, env, p, name, fmt.Sprintf("[%d/%d] %s", i+1, len(files), filepath.Base(name)), *quiet)
		switch {
		case *asJSON:
			line := map[string]any{"file": name, "ok": err == nil}
			if err != nil {
				line["error"] = errs.MessageOf(err)
			} else {
				line["item"], line["duplicate"] = res.Item, res.Duplicate
			}
			if perr := command.PrintJSONLine(env.Stdout, line); perr != nil {
				return perr
			}
		case err != nil:
			fmt.Fprintf(env.Stdout, "%s: refused: %s\n", name, errs.MessageOf(err))
		case res.Duplicate:
			fmt.Fprintf(env.Stdout, "%s: already stored as item %d (%s)\n", name, res.Item.ID, res.Item.Summary)
		default:
			fmt.Fprintf(env.Stdout, "%s: item %d, %s; %d memories\n", name, res.Item.ID, res.Item.Summary, res.Item.Chunks)
			for _, n := range res.Item.Info.Notes {
				fmt.Fprintf(env.Stdout, "  note: %s\n", n)
			}
		}
		if err != nil {
			if errs.CodeOf(err) == errs.Internal {
				log.Error("ingest", "file", name, "err", err)
			}
			failed++
		}
	}
	if err := w.Flush(ctx); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if !*asJSON {
		fmt.Fprintf(env.Stdout, "%d of %d files stored in %s (%.1fs)\n", len(files)-failed, len(files), *data, time.Since(start).Seconds())
	}
	if failed > 0 {
		return fmt.Errorf("ingest: %d of %d files were refused", failed, len(files))
	}
	return nil
}

func ingestFile(ctx context.Context, env command.Env, p *media.Pipeline, name, desc string, quiet bool) (media.Result, error) {
	f, err := os.Open(name)
	if err != nil {
		return media.Result{}, errs.Wrap(errs.Invalid, err, "the file could not be opened")
	}
	defer f.Close()
	progress := func(string, float64) {}
	if !quiet {
		bar := command.NewProgress(env.Stderr, 100, desc, "%")
		defer func() { bar.Finish(); fmt.Fprintln(env.Stderr) }()
		progress = func(stage string, frac float64) {
			bar.Describe(desc + " " + stage)
			bar.Set(int(100 * frac))
		}
	}
	return p.Ingest(ctx, filepath.Base(name), f, progress)
}

// splitIngestArgs separates the flags (and --data's value) from the files,
// which may come before, after or between them; "--" ends the flags.
func splitIngestArgs(args []string) (flags, files []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flags, append(files, args[i+1:]...)
		case a == "-data" || a == "--data":
			flags = append(flags, a)
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
		default:
			files = append(files, a)
		}
	}
	return flags, files
}
