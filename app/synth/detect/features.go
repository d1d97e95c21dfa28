package detect

import (
	"cmp"
	"math"
	"slices"

	"github.com/metastation/metastation/app/synth"
)

// labelDelay is how long a fraud label takes to become known (a
// chargeback): merchant risk uses only labels older than this.
const labelDelay = 7 * 86400

// FeatureNames lists the features Features computes, in column order.
func FeatureNames() []string {
	names := []string{
		"log_amount", "amount_z", "amount_over_max", "history_len",
		"tx_1h", "tx_24h", "tx_7d", "merchants_1h", "spend_24h_ratio",
		"new_device", "new_region", "log_km_home", "log_speed_kmh", "log_gap_s",
		"merchant_risk", "small_amount", "small_x_tx_1h", "night",
	}
	for c := 1; c < synth.NumChannels; c++ {
		names = append(names, "channel_"+synth.ChannelName(c))
	}
	for c := 0; c < synth.NumCategories; c++ {
		names = append(names, "cat_"+synth.CategoryName(c))
	}
	return names
}

// Features computes, for every transaction, what a fraud team would know at
// the moment it happens: how the amount compares with the customer's
// history, velocity over 1 hour, 24 hours and 7 days, a new device or
// region, the distance from home and the speed from the previous
// transaction, and the merchant's fraud rate from labels already known.
// Only earlier transactions feed each row. The result is row-major, one row
// of len(FeatureNames()) values per transaction, in the order of txs.
func Features(txs []synth.Transaction) []float64 {
	d := len(FeatureNames())
	out := make([]float64, len(txs)*d)
	byCustomer := make([]int, len(txs))
	for i := range byCustomer {
		byCustomer[i] = i
	}
	slices.SortStableFunc(byCustomer, func(a, b int) int {
		if c := cmp.Compare(txs[a].CustomerID, txs[b].CustomerID); c != 0 {
			return c
		}
		return cmp.Compare(txs[a].Unix, txs[b].Unix)
	})
	for lo := 0; lo < len(byCustomer); {
		hi := lo
		for hi < len(byCustomer) && txs[byCustomer[hi]].CustomerID == txs[byCustomer[lo]].CustomerID {
			hi++
		}
		customerFeatures(txs, byCustomer[lo:hi], out, d)
		lo = hi
	}
	merchantRisk(txs, out, d)
	return out
}

// customerFeatures fills the history features of one customer's
// transactions, idx in time order.
func customerFeatures(txs []synth.Transaction, idx []int, out []float64, d int) {
	var sum, sumSq, maxLog float64
	var devices []int64
	var regions [32]int
	var j1h, j24h, j7d int
	var spend24 float64 // amount in the 24 h window
	for k, i := range idx {
		tx := &txs[i]
		f := out[i*d : (i+1)*d]
		for ; txs[idx[j1h]].Unix < tx.Unix-3600; j1h++ {
		}
		for ; txs[idx[j24h]].Unix < tx.Unix-86400; j24h++ {
			spend24 -= dollars(&txs[idx[j24h]])
		}
		for ; txs[idx[j7d]].Unix < tx.Unix-7*86400; j7d++ {
		}
		amount := dollars(tx)
		la := math.Log(amount)
		n := float64(k)
		f[0] = la
		if k >= 3 {
			mean := sum / n
			sd := math.Sqrt(math.Max(0, sumSq/n-mean*mean))
			f[1] = math.Max(-5, math.Min(10, (la-mean)/(sd+0.3)))
			f[2] = math.Max(-3, math.Min(3, la-maxLog))
		}
		f[3] = math.Log1p(n)
		f[4] = math.Log1p(float64(k - j1h))
		f[5] = math.Log1p(float64(k - j24h))
		f[6] = math.Log1p(float64(k - j7d))
		merchants := map[int32]bool{}
		for _, p := range idx[j1h:k] {
			merchants[txs[p].MerchantID] = true
		}
		f[7] = math.Log1p(float64(len(merchants)))
		if k >= 3 {
			f[8] = math.Log1p(spend24 / (math.Exp(sum/n) + 1))
		}
		if tx.DeviceID != 0 && k > 0 && !slices.Contains(devices, tx.DeviceID) {
			f[9] = 1
		}
		home := 0
		for r := range regions {
			if regions[r] > regions[home] {
				home = r
			}
		}
		if k > 0 && regions[tx.Region] == 0 {
			f[10] = 1
		}
		if k > 0 {
			hr := synth.RegionAt(home)
			f[11] = math.Log1p(synth.DistanceKm(float64(tx.Lat), float64(tx.Lon), hr.Lat, hr.Lon))
			prev := &txs[idx[k-1]]
			km := synth.DistanceKm(float64(tx.Lat), float64(tx.Lon), float64(prev.Lat), float64(prev.Lon))
			gap := float64(tx.Unix - prev.Unix)
			f[12] = math.Log1p(math.Min(5000, km/math.Max(gap, 300)*3600))
			f[13] = math.Log1p(gap)
		}
		if amount < 5 {
			f[15] = 1
			f[16] = f[4]
		}
		if h := synth.LocalUnix(tx) % 86400 / 3600; h < 6 {
			f[17] = 1
		}
		if tx.Channel != synth.POS {
			f[18+int(tx.Channel)-1] = 1
		}
		f[18+synth.NumChannels-1+int(tx.Category)] = 1

		sum += la
		sumSq += la * la
		maxLog = math.Max(maxLog, la)
		spend24 += amount
		if tx.DeviceID != 0 && !slices.Contains(devices, tx.DeviceID) {
			devices = append(devices, tx.DeviceID)
		}
		regions[tx.Region]++
	}
}

// merchantRisk fills the merchant-risk feature: the log of the merchant's
// smoothed fraud rate among transactions whose label was known (older than
// labelDelay) when the row happened.
func merchantRisk(txs []synth.Transaction, out []float64, d int) {
	const prior, weight = 0.01, 50.0
	col := 14
	byTime := make([]int, len(txs))
	for i := range byTime {
		byTime[i] = i
	}
	slices.SortStableFunc(byTime, func(a, b int) int { return cmp.Compare(txs[a].Unix, txs[b].Unix) })
	fraud := map[int32]float64{}
	total := map[int32]float64{}
	known := 0
	for _, i := range byTime {
		for ; known < len(byTime) && txs[byTime[known]].Unix < txs[i].Unix-labelDelay; known++ {
			t := &txs[byTime[known]]
			total[t.MerchantID]++
			if t.IsFraud() {
				fraud[t.MerchantID]++
			}
		}
		m := txs[i].MerchantID
		out[i*d+col] = math.Log((fraud[m] + prior*weight) / (total[m] + weight))
	}
}

func dollars(t *synth.Transaction) float64 { return float64(t.Amount) / 100 }
