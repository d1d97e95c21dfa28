package synth

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"testing"
)

// The generator is made faster by drawing the same laws in cheaper ways
// (alias tables instead of rejection loops, another random source), which
// changes the bytes of a seed's output. What must not change is the law:
// TestLawMatchesReference compares about 450 statistics of the rows (shares
// of categories, channels, regions, hours, weekdays and fraud types, amount
// quantiles per category, customers and merchants, bursts, cards, devices,
// the customers' attributes) with their mean and spread over referenceSeeds
// of the generator as it was when the reference was written
// (testdata/law-reference.json). After an intended change of the law,
// rewrite the reference with METASTATION_UPDATE_LAW=1 and say so in the
// commit.
const (
	lawRows        = 200_000
	referenceSeeds = 20
	lawTestSeeds   = 4
	// lawMaxT bounds |t| of every statistic. The reference's spread comes
	// from 20 seeds (19 degrees of freedom): P(|t| > 6) is about 9e-6 per
	// statistic, 0.004 over the ~450 (Bonferroni).
	lawMaxT = 6
)

const lawReferenceFile = "testdata/law-reference.json"

// lawReference is the mean and sample standard deviation of each statistic
// over the reference seeds.
type lawReference struct {
	Rows  int                   `json:"rows"`
	Seeds []uint64              `json:"seeds"`
	Stats map[string][2]float64 `json:"stats"` // name -> {mean, sd}
}

func TestLawMatchesReference(t *testing.T) {
	if os.Getenv("METASTATION_UPDATE_LAW") == "1" {
		writeLawReference(t)
		return
	}
	b, err := os.ReadFile(lawReferenceFile)
	if err != nil {
		t.Fatal(err)
	}
	var ref lawReference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	var runs []map[string]float64
	for k := range lawTestSeeds {
		runs = append(runs, lawStatsOf(t, 7001+uint64(k), ref.Rows))
	}
	names := make([]string, 0, len(ref.Stats))
	for name := range ref.Stats {
		names = append(names, name)
	}
	sort.Strings(names)
	worst, worstName := 0.0, ""
	for _, name := range names {
		ms := ref.Stats[name]
		var xs []float64
		for _, run := range runs {
			x, ok := run[name]
			if !ok {
				t.Errorf("%s: no longer computed", name)
				break
			}
			xs = append(xs, x)
		}
		if len(xs) < lawTestSeeds {
			continue
		}
		mean, _ := meanSD(xs)
		// Welch's t with the reference's spread for both samples: four test
		// seeds say little about the spread on their own.
		se := ms[1] * math.Sqrt(1/float64(len(ref.Seeds))+1/float64(len(xs)))
		if tiny := 1e-9 * (math.Abs(ms[0]) + 1); ms[1] < tiny { // the same on every seed
			if math.Abs(mean-ms[0]) > tiny {
				t.Errorf("%s: %.6g, the reference has always %.6g", name, mean, ms[0])
			}
			continue
		}
		z := (mean - ms[0]) / se
		if math.Abs(z) > math.Abs(worst) {
			worst, worstName = z, name
		}
		if math.Abs(z) > lawMaxT {
			t.Errorf("%s: %.6g over %d seeds, reference %.6g ± %.2g (sd over %d seeds): t = %.1f",
				name, mean, len(xs), ms[0], ms[1], len(ref.Seeds), z)
		}
	}
	t.Logf("%d statistics; the largest |t| is %.2f (%s)", len(names), math.Abs(worst), worstName)
}

func writeLawReference(t *testing.T) {
	ref := lawReference{Rows: lawRows, Stats: map[string][2]float64{}}
	all := map[string][]float64{}
	for k := range referenceSeeds {
		seed := 1001 + uint64(k)
		ref.Seeds = append(ref.Seeds, seed)
		for name, x := range lawStatsOf(t, seed, lawRows) {
			all[name] = append(all[name], x)
		}
	}
	for name, xs := range all {
		if len(xs) != referenceSeeds {
			continue // not defined on every seed (an empty category)
		}
		mean, sd := meanSD(xs)
		ref.Stats[name] = [2]float64{mean, sd}
	}
	b, err := json.MarshalIndent(ref, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lawReferenceFile, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d statistics over %d seeds to %s", len(ref.Stats), referenceSeeds, lawReferenceFile)
}

func meanSD(xs []float64) (float64, float64) {
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func lawStatsOf(t *testing.T, seed uint64, rows int) map[string]float64 {
	t.Helper()
	cfg := Config{Seed: seed, Rows: rows, Workers: 2}.Normalize()
	txs, err := Transactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return lawStats(cfg, txs)
}

// lawStats computes the statistics TestLawMatchesReference compares.
func lawStats(cfg Config, txs []Transaction) map[string]float64 {
	out := map[string]float64{}
	n := float64(len(txs))
	share := func(prefix string, counts []float64, names func(int) string, total float64) {
		for i, c := range counts {
			if total > 0 {
				out[prefix+"/"+names(i)] = c / total
			}
		}
	}
	itoa := func(i int) string { return fmt.Sprint(i) }

	var cat [numCategories]float64
	var ch [NumChannels]float64
	reg := make([]float64, len(regions))
	var hour [24]float64
	var fraudType [NumFraudTypes]float64
	var fraudCh, fraudChAll [NumChannels]float64
	var fraudCat [numCategories]float64
	hourGroup := map[*[24]float64]*[24]float64{}
	weekGroup := map[[7]float64]*[7]float64{}
	var period [10]float64
	payDays, oneDollar, under5, devices, home := 0.0, 0.0, 0.0, 0.0, 0.0
	logAmt := make([][]float64, numCategories)
	catHours := make([][]float64, numCategories)
	start := cfg.Start.Unix()
	type custAcc struct {
		rows, firstCard, inHome float64
		merchants               map[int32]bool
		last                    int64
	}
	custs := map[int64]*custAcc{}
	merchants := map[int32]bool{}
	bursts := 0.0
	homes := map[int64]Customer{}
	for i := range txs {
		tx := &txs[i]
		cat[tx.Category]++
		ch[tx.Channel]++
		reg[tx.Region]++
		local := LocalUnix(tx)
		h := int(local % 86400 / 3600)
		hour[h]++
		c := &categories[tx.Category]
		if hourGroup[c.Hours] == nil {
			hourGroup[c.Hours] = &[24]float64{}
		}
		hourGroup[c.Hours][h]++
		if weekGroup[c.Week] == nil {
			weekGroup[c.Week] = &[7]float64{}
		}
		weekGroup[c.Week][weekday(local)]++
		catHours[tx.Category] = append(catHours[tx.Category], float64(local%86400)/3600)
		d := int((tx.Unix - start) / 86400)
		period[min(9, d*10/cfg.Days)]++
		if _, _, dom := civil(local / 86400); dom == 1 || dom == 2 || dom == 15 || dom == 16 {
			payDays++
		}
		fraudChAll[tx.Channel]++
		if tx.IsFraud() {
			fraudType[tx.Fraud]++
			fraudCh[tx.Channel]++
			fraudCat[tx.Category]++
		}
		if tx.Amount == 100 {
			oneDollar++
		}
		if tx.Amount < 500 {
			under5++
		}
		if tx.DeviceID != 0 {
			devices++
		}
		logAmt[tx.Category] = append(logAmt[tx.Category], math.Log(float64(tx.Amount)))
		merchants[tx.MerchantID] = true
		a := custs[tx.CustomerID]
		if a == nil {
			a = &custAcc{merchants: map[int32]bool{}, last: math.MinInt64}
			custs[tx.CustomerID] = a
			homes[tx.CustomerID] = NewCustomer(cfg.Seed, tx.CustomerID, start)
		}
		hc := homes[tx.CustomerID]
		a.rows++
		if tx.CardID == CardID(AccountID(tx.CustomerID, 0), 0) {
			a.firstCard++
		}
		if tx.Region == hc.Region {
			a.inHome++
		}
		if tx.Lat == hc.Lat && tx.Lon == hc.Lon {
			home++
		}
		a.merchants[tx.MerchantID] = true
		if tx.Unix-a.last < 3600 {
			bursts++
		}
		a.last = tx.Unix
	}
	share("category", cat[:], CategoryName, n)
	share("channel", ch[:], ChannelName, n)
	share("region", reg, RegionName, n)
	share("hour", hour[:], itoa, n)
	for g, counts := range hourGroup {
		total := 0.0
		for _, x := range counts {
			total += x
		}
		share(fmt.Sprintf("hours-%s", groupName(g)), counts[:], itoa, total)
	}
	for g, counts := range weekGroup {
		total := 0.0
		for _, x := range counts {
			total += x
		}
		share("week-"+weekName(g), counts[:], itoa, total)
	}
	share("period-tenth", period[:], itoa, n)
	fraud := 0.0
	for k := 1; k < NumFraudTypes; k++ {
		fraud += fraudType[k]
	}
	out["fraud/rate"] = fraud / n
	share("fraud-type", fraudType[1:], func(i int) string { return fraudNames[i+1] }, fraud)
	for c := range fraudCh {
		out["fraud-rate-in-channel/"+ChannelName(c)] = fraudCh[c] / fraudChAll[c]
	}
	share("fraud-category", fraudCat[:], CategoryName, fraud)
	out["amount/exactly-1-dollar"] = oneDollar / n
	out["amount/under-5-dollars"] = under5 / n
	out["device/share"] = devices / n
	out["geo/at-home-coordinates"] = home / n
	for k, xs := range logAmt {
		if len(xs) < 50 {
			continue
		}
		slices.Sort(xs)
		for _, q := range []float64{0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99} {
			out[fmt.Sprintf("log-amount-q%02.0f/%s", q*100, CategoryName(k))] = xs[int(q*float64(len(xs)-1))]
		}
		m, sd := meanSD(xs)
		out["log-amount-mean/"+CategoryName(k)] = m
		out["log-amount-sd/"+CategoryName(k)] = sd
		hm, hsd := meanSD(catHours[k])
		out["local-hour-mean/"+CategoryName(k)] = hm
		out["local-hour-sd/"+CategoryName(k)] = hsd
	}
	var perCust, distinct, firstCard, inHome []float64
	for _, a := range custs {
		perCust = append(perCust, a.rows)
		distinct = append(distinct, float64(len(a.merchants))/a.rows)
		firstCard = append(firstCard, a.firstCard/a.rows)
		inHome = append(inHome, a.inHome/a.rows)
	}
	out["customers/per-row"] = float64(len(custs)) / n
	out["merchants/per-row"] = float64(len(merchants)) / n
	m, sd := meanSD(perCust)
	out["customers/rows-mean"], out["customers/rows-sd"] = m, sd
	out["customers/distinct-merchant-share"], _ = meanSD(distinct)
	out["customers/first-card-share"], _ = meanSD(firstCard)
	out["customers/home-region-share"], _ = meanSD(inHome)
	out["customers/within-an-hour-share"] = bursts / n

	// The customers' own attributes, as the customers table shows them.
	var age, shift, activity, travel, accounts, cardsN, devs, recurring, rent, since []float64
	var segment [3]float64
	for id := int64(1); id <= 5000; id++ {
		c := NewCustomer(cfg.Seed, id, start)
		age = append(age, float64(c.Age))
		shift = append(shift, c.SpendShift)
		activity = append(activity, c.Activity)
		travel = append(travel, c.Travel)
		accounts = append(accounts, float64(c.Accounts))
		cardsN = append(cardsN, float64(c.Cards))
		devs = append(devs, float64(c.Devices))
		recurring = append(recurring, float64(c.Recurring))
		rent = append(rent, float64(b2i(c.Rent)))
		since = append(since, float64(start-c.SinceUnix)/86400)
		segment[c.Segment]++
	}
	for name, xs := range map[string][]float64{"age": age, "spend-shift": shift, "activity": activity, "travel": travel,
		"accounts": accounts, "cards": cardsN, "devices": devs, "recurring": recurring, "rent": rent, "since-days": since} {
		m, sd := meanSD(xs)
		out["customer-"+name+"/mean"], out["customer-"+name+"/sd"] = m, sd
	}
	share("customer-segment", segment[:], func(i int) string { return segmentNames[i] }, 5000)
	return out
}

// groupName names an hour-of-day profile.
func groupName(p *[24]float64) string {
	switch p {
	case &hoursShop:
		return "shop"
	case &hoursMeal:
		return "meal"
	case &hoursRide:
		return "ride"
	case &hoursHome:
		return "home"
	case &hoursBar:
		return "bar"
	}
	return "other"
}

// weekName names a weekly profile.
func weekName(w [7]float64) string {
	switch w {
	case weekFlat:
		return "flat"
	case weekWeekend:
		return "weekend"
	case weekWorkday:
		return "workday"
	case weekGoingOut:
		return "going-out"
	}
	return "other"
}
