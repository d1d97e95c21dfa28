package rl

import "math"

// RunningMeanStd tracks the mean and variance of a stream of vectors with
// the parallel update Gymnasium uses (count starts at 1e-4).
type RunningMeanStd struct {
	Mean, Var []float64
	Count     float64
}

// NewRunningMeanStd returns statistics of width dim.
func NewRunningMeanStd(dim int) *RunningMeanStd {
	r := &RunningMeanStd{Mean: make([]float64, dim), Var: make([]float64, dim), Count: 1e-4}
	for i := range r.Var {
		r.Var[i] = 1
	}
	return r
}

// Update merges a batch of rows into the statistics.
func (r *RunningMeanStd) Update(batch [][]float64) {
	n := float64(len(batch))
	if n == 0 {
		return
	}
	for j := range r.Mean {
		var mean, m2 float64
		for _, x := range batch {
			mean += x[j]
		}
		mean /= n
		for _, x := range batch {
			d := x[j] - mean
			m2 += d * d
		}
		bVar := m2 / n
		delta := mean - r.Mean[j]
		tot := r.Count + n
		r.Mean[j] += delta * n / tot
		r.Var[j] = (r.Var[j]*r.Count + bVar*n + delta*delta*r.Count*n/tot) / tot
	}
	r.Count += n
}

// clone returns a deep copy.
func (r *RunningMeanStd) clone() *RunningMeanStd {
	return &RunningMeanStd{Mean: append([]float64(nil), r.Mean...), Var: append([]float64(nil), r.Var...), Count: r.Count}
}

// ObsNormalizer standardises observations with running statistics and clips
// them to ±Clip, as Gymnasium's NormalizeObservation followed by a clip.
type ObsNormalizer struct {
	RMS  *RunningMeanStd
	Clip float64
}

// NewObsNormalizer returns a normaliser of width dim clipping at ±10.
func NewObsNormalizer(dim int) *ObsNormalizer {
	return &ObsNormalizer{RMS: NewRunningMeanStd(dim), Clip: 10}
}

// Normalize returns a normalised copy of one observation.
func (o *ObsNormalizer) Normalize(x []float64) []float64 {
	out := make([]float64, len(x))
	for j, v := range x {
		out[j] = clamp((v-o.RMS.Mean[j])/math.Sqrt(o.RMS.Var[j]+1e-8), -o.Clip, o.Clip)
	}
	return out
}

// RewardNormalizer scales rewards by the running standard deviation of the
// discounted return, as Gymnasium's NormalizeReward, then clips to ±Clip.
type RewardNormalizer struct {
	RMS     *RunningMeanStd
	Returns []float64 // discounted return of each environment's episode so far
	Gamma   float64
	Clip    float64
}

// NewRewardNormalizer returns a normaliser for n environments.
func NewRewardNormalizer(n int, gamma float64) *RewardNormalizer {
	return &RewardNormalizer{RMS: NewRunningMeanStd(1), Returns: make([]float64, n), Gamma: gamma, Clip: 10}
}

// Normalize updates the statistics with one vector step and returns the
// scaled rewards. done[i] ends environment i's discounted return.
func (r *RewardNormalizer) Normalize(reward []float64, done []bool) []float64 {
	batch := make([][]float64, len(reward))
	for i, rw := range reward {
		r.Returns[i] = r.Returns[i]*r.Gamma + rw
		batch[i] = []float64{r.Returns[i]}
	}
	r.RMS.Update(batch)
	out := make([]float64, len(reward))
	sd := math.Sqrt(r.RMS.Var[0] + 1e-8)
	for i, rw := range reward {
		out[i] = clamp(rw/sd, -r.Clip, r.Clip)
		if done[i] {
			r.Returns[i] = 0
		}
	}
	return out
}
