package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserMarketImport uploads a broken price file and then a real one
// through the market page's form: the broken one is rejected with its line
// numbers shown, the real one is imported and its report shown.
func TestBrowserMarketImport(t *testing.T) {
	ctx := newBrowser(t)
	srv, url := startServer(t)
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.csv")
	if err := os.WriteFile(broken, []byte("Date,Open,High,Low,Close,Adj Close,Volume\n"+
		"2024-01-02,100,101,99,100.5,100.5,1000\n"+
		"2024-01-03,abc,101,99,100.5,100.5,1000\n"+
		"2024-01-02,100,101,99,100.5,100.5,1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good, err := filepath.Abs(filepath.Join("..", "market", "testdata", "SPY-2007-2009.csv"))
	if err != nil {
		t.Fatal(err)
	}

	navigate(t, ctx, url+"market")
	upload := func(path, symbol string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`#mk-import input[type="file"]`), []string{path}),
			chromedp.SetValue(chromedp.CSS(`#mk-import input[name="symbol"]`), symbol),
			chromedp.Click(chromedp.CSS(`#mk-import button[type="submit"]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
	}

	upload(broken, "BAD")
	waitJS(t, ctx, "the rejection", `window.metastationImport.last?.status === 422`, 15*time.Second)
	shown := eval[string](t, ctx, `document.getElementById("mk-import-result").textContent`)
	if !strings.Contains(shown, "line 3") || !strings.Contains(shown, "line 4") {
		t.Errorf("the rejection does not show the lines of both problems: %q", shown)
	}
	var n int
	if err := srv.DB.R.QueryRow(`SELECT count(*) FROM market_series WHERE symbol = 'BAD'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the rejected file left %d rows (%v)", n, err)
	}

	upload(good, "SPY")
	waitJS(t, ctx, "the import", `window.metastationImport.last?.status === 200`, 15*time.Second)
	shown = eval[string](t, ctx, `document.getElementById("mk-import-result").textContent`)
	if !strings.Contains(shown, "bars of SPY, 2007-01-03 to 2009-12-31") {
		t.Errorf("the import report reads %q", shown)
	}
	if err := srv.DB.R.QueryRow(`SELECT count(*) FROM market_series WHERE symbol = 'SPY'`).Scan(&n); err != nil || n < 700 {
		t.Fatalf("the imported file has %d rows in the database (%v)", n, err)
	}
}
