package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/research"
	"github.com/metastation/metastation/ui"
)

// The research API and pages. Wired in routes.go:
//
//	GET  /research                                   the Research page (?run=N opens run N)
//	GET  /research/runs/{id}/memos/{exp}/print       a memo alone, printable to PDF
//	GET  /api/research/runs                          every run, newest first
//	POST /api/research/runs                          {"seed": 1, "dir": ""} -> 202; dir: a folder of papers, "" for the built-in corpus
//	GET  /api/research/progress                      where the current (or last) run is
//	GET  /api/research/runs/{id}                     a finished run: concepts, graph, gaps, validation, experiments, memos
//	GET  /api/research/runs/{id}/trials              every trial of a run with its seeds and data hash
//	GET  /api/research/runs/{id}/memos/{exp}         a memo: Markdown and its HTML; {exp}.md downloads the Markdown
//	GET  /api/research/memories/{id}                 a memory a memo cites

func researchRuns(s *research.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		runs, err := s.Researcher().Runs(r.Context())
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if runs == nil {
			runs = []research.RunHead{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
	}
}

func researchStart(s *research.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Seed *uint64 `json:"seed"`
			Dir  string  `json:"dir"`
		}
		if !decodeJSON(w, r, &req, `{"seed": 1, "dir": ""}`) {
			return
		}
		cfg := research.RunConfig{Seed: 1, Dir: strings.TrimSpace(req.Dir)}
		if req.Seed != nil {
			cfg.Seed = *req.Seed
		}
		if len(cfg.Dir) > 1024 {
			writeError(w, r, http.StatusBadRequest, "A folder path is at most 1024 bytes.")
			return
		}
		if err := s.Start(cfg); err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"queued": true, "seed": cfg.Seed})
	}
}

func researchProgress(s *research.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Progress())
	}
}

// pathInt reads a positive integer path parameter, answering 400 when it
// is not one.
func pathInt(w http.ResponseWriter, r *http.Request, name string) (int, bool) {
	v := chi.URLParam(r, name)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("%q is not a %s; use a positive whole number.", v, name))
		return 0, false
	}
	return n, true
}

func researchRun(s *research.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathInt(w, r, "id")
		if !ok {
			return
		}
		sum, err := s.Researcher().Summary(r.Context(), id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, sum)
	}
}

func researchTrials(s *research.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathInt(w, r, "id")
		if !ok {
			return
		}
		trials, err := s.Researcher().Trials(r.Context(), id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if len(trials) == 0 {
			writeAppError(w, r, errs.Errorf(errs.NotFound, "Research run %d has no trials.", id))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"trials": trials})
	}
}

// citeHref is where a memo's citations point outside the page's own
// handling of them.
func citeHref(run int) research.CiteHref {
	return func(kind, id string) string {
		switch kind {
		case "M":
			return "/api/research/memories/" + id
		case "E":
			return fmt.Sprintf("/research?run=%d#rs-exp-%s", run, id)
		}
		return fmt.Sprintf("/api/research/runs/%d/trials#T%s", run, id)
	}
}

func researchMemo(s *research.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		run, ok := pathInt(w, r, "id")
		if !ok {
			return
		}
		expParam := chi.URLParam(r, "exp")
		markdown := strings.HasSuffix(expParam, ".md")
		exp, err := strconv.Atoi(strings.TrimSuffix(expParam, ".md"))
		if err != nil || exp < 1 {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("%q is not an experiment; use a positive whole number.", expParam))
			return
		}
		m, err := s.Researcher().Memo(r.Context(), run, exp)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if markdown {
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="memo-run%d-E%d.md"`, run, exp))
			_, _ = w.Write([]byte(m.Markdown))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"run": m.Run, "experiment": m.Experiment, "title": m.Title, "verdict": m.Verdict,
			"memory": m.Memory, "markdown": m.Markdown, "html": research.HTML(m.Markdown, citeHref(run)),
		})
	}
}

func researchMemoPrint(s *research.Service, p *pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		run, ok := pathInt(w, r, "id")
		if !ok {
			return
		}
		exp, ok := pathInt(w, r, "exp")
		if !ok {
			return
		}
		m, err := s.Researcher().Memo(r.Context(), run, exp)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		// HTML escapes every text of the memo; templ.Raw only keeps the
		// tags it made.
		p.render(w, r, ui.ResearchMemoPrint(m.Title, templ.Raw(research.HTML(m.Markdown, citeHref(run)))))
	}
}

func researchMemory(st *memory.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := chi.URLParam(r, "id")
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("%q is not a memory id; use a positive whole number.", v))
			return
		}
		m, err := st.Get(id)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	}
}
