package web

import (
	"net/http"
	"path/filepath"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/ui"
)

// welcomePage serves the first-run page: what is running, where the data
// lives, how to stop it.
func welcomePage(p *pages, a *app.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := ui.WelcomeInfo{
			Version:  app.Version(),
			URL:      "http://" + r.Host + "/",
			DataDir:  a.Config.DataDir,
			Database: filepath.Join(a.Config.DataDir, store.FileName),
			LogFile:  a.Config.LogFile,
			Seed:     a.Config.Seed,
		}
		for _, s := range a.Snapshot().Services {
			info.Services = append(info.Services, s.Name)
		}
		p.render(w, r, ui.Welcome(p.page("Welcome", "/welcome"), info))
	}
}

// quit answers POST /api/quit, the UI's Quit control: it asks whoever runs
// the server to shut it down (metastation serve does, as on Ctrl+C). The
// shutdown waits for this response to be written. Cross-origin pages are
// refused by the router's cross-origin protection, so another site cannot
// stop Metastation.
func quit(request func()) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		request()
		writeJSON(w, http.StatusAccepted, map[string]string{
			"status":  "stopping",
			"message": "Metastation is stopping; it finishes what it is writing first.",
		})
	}
}
