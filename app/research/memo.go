package research

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Memo is one investment memo: Markdown whose every number comes from the
// run's records and whose every claim cites them: [M12] a memory (a paper,
// a finding), [E3] an experiment, [T17] a trial.
type Memo struct {
	Run        int     `json:"run"`
	Experiment int     `json:"experiment"`
	Title      string  `json:"title"`
	Verdict    Verdict `json:"verdict"`
	Markdown   string  `json:"markdown"`
	Memory     int64   `json:"memory,omitempty"` // the memo as a memory, once written
	Rewritten  bool    `json:"rewritten"`        // opinions reworded by the local model
}

// memoInput is what the writer knows when it writes one memo.
type memoInput struct {
	Run     int
	Seed    uint64
	Exp     Experiment
	Trials  []Trial // this experiment's
	Gap     *Gap
	Papers  map[int64]Paper // cited papers by memory id
	Finding int64           // the gap finder's memory of the gap
	Outcome int64           // the experimenter's memory of the result
	Plan    Plan
}

// Bars are the constants a memo may quote beside its records.
var Bars = map[string]float64{"fdr": FDRLevel, "fwer": FWERLevel, "t": TBar, "dsr": DSRBar, "pbo": PBOBar, "ci": 95, "slippage": Slippage,
	"p_floor": 0.0001, "stress_short": 21, "stress_long": 252, "kill_days": killDays,
	"cost_bp_equity": costOf(Equity) * 1e4, "cost_bp_fx": costOf(FX) * 1e4, "cost_bp_crypto": costOf(Crypto) * 1e4}

// killDays is the live window the kill criterion judges the Sharpe ratio on.
const killDays = 63

// writeMemo renders the template memo; opinions come from rewrite when it
// is set (and its sentence passes the number check), else from the
// templates.
func writeMemo(in memoInput, rewrite func(kind, text string) string) Memo {
	e, h := in.Exp, in.Exp.Hypothesis
	if rewrite == nil {
		rewrite = func(_, text string) string { return text }
	}
	p := e.Perf
	title := fmt.Sprintf("%s on %s, %s, %d-day horizon", titleCase(string(h.Signal)), h.Set, h.Regime, h.Horizon)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cite := func(kind string, id any) string { return fmt.Sprintf("[%s%v]", kind, id) }
	papers := h.Papers
	if len(papers) > 6 {
		papers = papers[:6]
	}
	var pc []string
	for _, m := range papers {
		pc = append(pc, cite("M", m))
	}

	w("# %s\n\n", title)
	w("Run %d, seed %d, experiment %s. Facts are from the run's records, each cited; opinions are marked as such.\n\n", in.Run, in.Seed, cite("E", e.ID))

	w("## Executive summary\n\n")
	w("**Fact.** %s %s\n\n", h.Statement, cite("E", e.ID))
	w("**Fact.** On held-out simulator seeds, out of sample, the rule earned an annualised Sharpe ratio of %s (95 %% interval %s to %s) over %d days, t = %s %s.\n\n",
		fmtNum(p.Sharpe, 2), fmtNum(p.SharpeLo, 2), fmtNum(p.SharpeHi, 2), p.Days, fmtNum(p.T, 2), cite("T", e.Holdout))
	w("**Fact.** Across all %d hypotheses tried its Benjamini–Hochberg adjusted p-value is %s and its deflated Sharpe ratio with N = %d trials is %s %s.\n\n",
		e.Family, fmtP(e.PBH), e.Trials, fmtNum(e.DSR, 3), cite("E", e.ID))
	w("**Recommendation: %s.**\n\n", e.Verdict)

	w("## Thesis and why now\n\n")
	if in.Gap != nil && len(in.Gap.Bridges) > 0 {
		br := in.Gap.Bridges[0]
		w("**Fact.** The corpus links *%s* with *%s* in %d papers and *%s* with *%s* in %d, but no paper studies *%s* together with *%s* (gap rank %d, score %s) %s %s.\n\n",
			in.Gap.AName, br.Name, br.AB, br.Name, in.Gap.CName, br.BC, in.Gap.AName, in.Gap.CName, in.Gap.Rank, fmtNum(in.Gap.Scores.Combined, 2), cite("M", in.Finding), strings.Join(pc, " "))
		if len(in.Gap.Bridges) > 1 {
			var names []string
			for _, x := range in.Gap.Bridges[1:min(4, len(in.Gap.Bridges))] {
				names = append(names, "*"+x.Name+"*")
			}
			w("**Fact.** Other bridges: %s %s.\n\n", strings.Join(names, ", "), cite("M", in.Finding))
		}
	}
	w("**Fact.** Novelty (1 − the largest cosine similarity of the statement to any paper) is %s %s.\n\n", fmtNum(h.Novelty, 3), cite("E", e.ID))
	w("**Opinion.** %s\n\n", rewrite("thesis", thesisOpinion(e)))

	w("## Evidence\n\n")
	w("Held out: simulator seeds %s, days %d onward of each path %s.\n\n", seedList(in.Plan.HoldoutSeeds), in.trialByID(e.Holdout).From, cite("T", e.Holdout))
	if len(in.Plan.Effects) > 0 {
		var eff []string
		for _, x := range in.Plan.Effects {
			eff = append(eff, fmt.Sprintf("%s at horizon %d, %s, %s, size %s", x.Signal, x.Horizon, x.Regime, x.Set, fmtNum(x.Size, 2)))
		}
		w("**Fact.** The simulated world of this run has planted effects, its ground truth (size: the daily Sharpe ratio where an effect applies): %s. Real files have none planted.\n\n", strings.Join(eff, "; "))
	}
	w("| measure | value |\n| --- | ---: |\n")
	w("| Sharpe ratio (annualised) | %s |\n| 95 %% interval | %s to %s |\n| Sortino ratio | %s |\n| max drawdown (log return) | %s |\n",
		fmtNum(p.Sharpe, 2), fmtNum(p.SharpeLo, 2), fmtNum(p.SharpeHi, 2), fmtNum(p.Sortino, 2), fmtNum(p.MaxDD, 4))
	w("| annual return | %s |\n| annual volatility | %s |\n| turnover (per year) | %s |\n| costs (per year, return) | %s |\n",
		fmtNum(p.AnnReturn, 4), fmtNum(p.AnnVol, 4), fmtNum(p.Turnover, 1), fmtNum(p.AnnCosts, 4))
	w("| t statistic | %s |\n| raw p (one-sided) | %s |\n| BH-adjusted p | %s |\n| Holm-adjusted p | %s |\n",
		fmtNum(p.T, 2), fmtP(p.P), fmtP(e.PBH), fmtP(e.PHolm))
	w("| PSR (true Sharpe > 0) | %s |\n| DSR (N = %d trials) | %s |\n| DSR benchmark Sharpe | %s |\n| PBO (CSCV, run) | %s |\n\n",
		fmtNum(e.PSR, 3), e.Trials, fmtNum(e.DSR, 3), fmtNum(e.SR0, 2), fmtNum(e.PBO, 3))
	w("**Fact.** The lookback was chosen in sample on seeds %s (days before the out-of-sample start) among %d settings %s; the held-out figures above never informed that choice.\n\n",
		seedList(in.Plan.SelectSeeds), len(e.Select), citeAll("T", e.Select))
	if len(e.Real) > 0 {
		w("### Real prices, out of sample\n\n| file | period | Sharpe | 95 %% interval | max drawdown | trial |\n| --- | --- | ---: | ---: | ---: | --- |\n")
		for _, r := range e.Real {
			w("| %s | %s to %s | %s | %s to %s | %s | %s |\n", r.File, r.From, r.To, fmtNum(r.Perf.Sharpe, 2), fmtNum(r.Perf.SharpeLo, 2), fmtNum(r.Perf.SharpeHi, 2), fmtNum(r.Perf.MaxDD, 4), cite("T", r.Trial))
		}
		w("\n")
	}

	w("## Risks and kill criteria\n\n")
	w("**Opinion.** %s\n\n", rewrite("risks", riskOpinion(e)))
	w("**Fact.** Kill criteria, from the records: stop if the live drawdown exceeds the held-out maximum, %s, or if the annualised Sharpe ratio over the next %d trading days falls below the held-out interval's lower end, %s %s.\n\n",
		fmtNum(p.MaxDD, 4), killDays, fmtNum(p.SharpeLo, 2), cite("T", e.Holdout))

	w("## Implementation\n\n")
	w("**Fact.** Rule: %s, lookback %d days, regime filter %s (stress is 21-day volatility above 252-day), daily rebalance, equal weight across the %s instruments; costs %s bp of turnover plus slippage of %s times the 21-day volatility per unit traded %s.\n\n",
		e.Chosen.Signal, e.Chosen.Lookback, e.Chosen.Regime, h.Set, fmtNum(costOf(h.Set)*1e4, 0), fmtNum(Slippage, 2), cite("T", e.Holdout))

	w("## Recommendation\n\n")
	w("**%s.** ", titleCase(string(e.Verdict)))
	switch e.Verdict {
	case Pursue:
		real := "no real files were tested"
		if len(e.Real) > 0 {
			real = "the real files' mean out-of-sample Sharpe ratio is positive"
		}
		w("Every bar is cleared: BH-adjusted p at most %s, t at least %s, DSR at least %s, PBO below %s; %s %s.\n\n", fmtNum(FDRLevel, 2), fmtNum(TBar, 1), fmtNum(DSRBar, 2), fmtNum(PBOBar, 1), real, cite("E", e.ID))
	default:
		w("%s %s.\n\n", strings.Join(e.Reasons, "; "), cite("E", e.ID))
	}
	w("**Opinion.** %s\n\n", rewrite("recommendation", recommendationOpinion(e)))

	w("## Appendix: every trial of this hypothesis\n\n| trial | phase | rule | data | seeds | data hash | days | Sharpe | t |\n| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: |\n")
	for _, t := range in.Trials {
		w("| %s | %s | %s %d %s | %s | %s | %s | %d | %s | %s |\n", cite("T", t.ID), t.Phase, t.Rule.Signal, t.Rule.Lookback, t.Rule.Regime,
			strings.Join(t.Data, ", "), seedList(t.Seeds), t.DataHash, t.Perf.Days, fmtNum(t.Perf.Sharpe, 2), fmtNum(t.Perf.T, 2))
	}
	w("\nThe run made %d in-sample trials in all; each is in the run's trial table with its seed and data hash.\n", e.Trials)
	return Memo{Run: in.Run, Experiment: e.ID, Title: title, Verdict: e.Verdict, Markdown: b.String()}
}

func (in memoInput) trialByID(id int) Trial {
	for _, t := range in.Trials {
		if t.ID == id {
			return t
		}
	}
	return Trial{}
}

func citeAll(kind string, ids []int) string {
	var s []string
	for _, id := range ids {
		s = append(s, fmt.Sprintf("[%s%d]", kind, id))
	}
	return strings.Join(s, " ")
}

func seedList(seeds []uint64) string {
	if len(seeds) == 0 {
		return "none"
	}
	var s []string
	for _, x := range seeds {
		s = append(s, strconv.FormatUint(x, 10))
	}
	return strings.Join(s, ", ")
}

func titleCase(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// The opinions: judgements from the verdict, with no numbers of their own.
func thesisOpinion(e Experiment) string {
	if e.Verdict == Insufficient {
		return "The literature's silence on this pairing is a reason to look, not a reason to believe; the test below is what counts, and it does not yet carry the idea."
	}
	return "The bridge concepts give a plausible mechanism, and the gap in the literature suggests the effect is not yet crowded."
}

func riskOpinion(e Experiment) string {
	switch {
	case e.Chosen.Regime != AnyRegime:
		return "A regime-conditional rule trades rarely and in bursts; its record rests on fewer independent episodes than its day count suggests, and a change in how stress arrives could remove the edge."
	case e.Perf.Turnover > 50:
		return "High turnover makes the result sensitive to the cost assumption; a small rise in spreads would eat the edge."
	}
	return "The main risk is that the simulated world's structure differs from the live market's; the real-file check is weak evidence either way."
}

func recommendationOpinion(e Experiment) string {
	switch e.Verdict {
	case Pursue:
		return "Allocate a small risk budget and monitor against the kill criteria; scale only after a live out-of-sample period."
	case PaperTrade:
		return "Paper-trade it beside the live book; the simulator's evidence is not enough without real prices agreeing."
	}
	return "Do not allocate. Revisit only with new data or a sharper hypothesis, counted as a new trial."
}

var numberToken = regexp.MustCompile(`-?[0-9]+(?:\.[0-9]+)?`)

// Untraced lists the numbers in text that no record holds: every number of
// a memo must be a field of one of records (any JSON-encodable values), in
// one of the formats the writer uses.
func Untraced(text string, records ...any) []string {
	allowed := map[string]bool{}
	add := func(x float64) {
		for d := 0; d <= 4; d++ {
			allowed[fmtNum(x, d)] = true
			allowed[fmtNum(100*x, d)] = true
		}
		allowed[strconv.FormatFloat(x, 'f', -1, 64)] = true
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case float64:
			add(x)
		case string:
			for _, t := range numberToken.FindAllString(x, -1) {
				allowed[strings.TrimPrefix(t, "-")] = true
				allowed[t] = true
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		case map[string]any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	for _, r := range records {
		raw, err := json.Marshal(r)
		if err != nil {
			continue
		}
		var v any
		if json.Unmarshal(raw, &v) == nil {
			walk(v)
		}
	}
	var out []string
	for _, t := range numberToken.FindAllString(text, -1) {
		if !allowed[t] && !allowed[strings.TrimPrefix(t, "-")] {
			out = append(out, t)
		}
	}
	return out
}

// isFinite is for records that may hold NaN (JSON cannot).
func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
