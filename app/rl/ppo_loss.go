package rl

import "math"

// ppoTerms are the per-sample inputs of the PPO loss for one minibatch.
type ppoTerms struct {
	NewLogP, Entropy, NewValue []float64 // from the current networks
	OldLogP, OldValue          []float64 // recorded during the rollout
	Adv, Ret                   []float64 // advantages (already normalised) and returns
}

// ppoStats are the diagnostics of one minibatch.
type ppoStats struct {
	PolicyLoss, ValueLoss, Entropy, ApproxKL, ClipFrac float64
}

// ppoLoss returns the PPO objective as CleanRL computes it,
//
//	L = mean(max(−A·r, −A·clip(r, 1±c))) − entCoef·mean(H) + vfCoef·½·mean(max((V−R)², (V̂−R)²))
//
// with r = exp(log π − log π_old) and V̂ = V_old + clip(V − V_old, ±c) when
// clipValue is set, and its gradient with respect to every new log-prob,
// entropy and value.
func ppoLoss(b ppoTerms, clip float64, clipValue bool, entCoef, vfCoef float64) (loss float64, dLogP, dEnt, dValue []float64, st ppoStats) {
	n := len(b.NewLogP)
	fn := float64(n)
	dLogP, dEnt, dValue = make([]float64, n), make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		logRatio := b.NewLogP[i] - b.OldLogP[i]
		r := math.Exp(logRatio)
		st.ApproxKL += (r - 1) - logRatio
		if math.Abs(r-1) > clip {
			st.ClipFrac++
		}
		a := b.Adv[i]
		l1 := -a * r
		l2 := -a * clamp(r, 1-clip, 1+clip)
		if l1 >= l2 {
			st.PolicyLoss += l1
			dLogP[i] = -a * r / fn
		} else {
			st.PolicyLoss += l2 // constant in r: the ratio is clipped
		}

		st.Entropy += b.Entropy[i]
		dEnt[i] = -entCoef / fn

		d := b.NewValue[i] - b.OldValue[i]
		vu := b.NewValue[i] - b.Ret[i]
		if clipValue {
			vc := b.OldValue[i] + clamp(d, -clip, clip) - b.Ret[i]
			if vu*vu >= vc*vc {
				st.ValueLoss += vu * vu
				dValue[i] = vfCoef * vu / fn
			} else {
				st.ValueLoss += vc * vc
				if math.Abs(d) < clip {
					dValue[i] = vfCoef * vc / fn
				}
			}
		} else {
			st.ValueLoss += vu * vu
			dValue[i] = vfCoef * vu / fn
		}
	}
	st.PolicyLoss /= fn
	st.ValueLoss = 0.5 * st.ValueLoss / fn
	st.Entropy /= fn
	st.ApproxKL /= fn
	st.ClipFrac /= fn
	loss = st.PolicyLoss - entCoef*st.Entropy + vfCoef*st.ValueLoss
	return loss, dLogP, dEnt, dValue, st
}

// gae computes generalised advantage estimates over a rollout of T steps of
// N environments stored time-major (index t*N+i). done[t*N+i] marks that the
// episode of environment i ended at step t; lastValue is V(s_T).
func gae(reward, value []float64, done []bool, lastValue []float64, n int, gamma, lambda float64) (adv, ret []float64) {
	total := len(reward)
	adv, ret = make([]float64, total), make([]float64, total)
	t := total / n
	for i := 0; i < n; i++ {
		var last float64
		for s := t - 1; s >= 0; s-- {
			k := s*n + i
			next := lastValue[i]
			if s+1 < t {
				next = value[k+n]
			}
			nonTerminal := 1.0
			if done[k] {
				nonTerminal = 0
			}
			delta := reward[k] + gamma*next*nonTerminal - value[k]
			last = delta + gamma*lambda*nonTerminal*last
			adv[k] = last
			ret[k] = last + value[k]
		}
	}
	return adv, ret
}

// normalizeAdv standardises advantages with the unbiased standard deviation
// (as torch.Tensor.std) plus 1e-8.
func normalizeAdv(a []float64) []float64 {
	n := float64(len(a))
	var mean, v float64
	for _, x := range a {
		mean += x
	}
	mean /= n
	for _, x := range a {
		v += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(v / (n - 1))
	out := make([]float64, len(a))
	for i, x := range a {
		out[i] = (x - mean) / (sd + 1e-8)
	}
	return out
}

// explainedVariance is 1 − Var(y−ŷ)/Var(y), NaN when Var(y) is zero.
func explainedVariance(pred, y []float64) float64 {
	vy := variance(y)
	if vy == 0 {
		return math.NaN()
	}
	diff := make([]float64, len(y))
	for i := range y {
		diff[i] = y[i] - pred[i]
	}
	return 1 - variance(diff)/vy
}

func variance(x []float64) float64 {
	var mean, v float64
	for _, a := range x {
		mean += a
	}
	mean /= float64(len(x))
	for _, a := range x {
		v += (a - mean) * (a - mean)
	}
	return v / float64(len(x))
}
