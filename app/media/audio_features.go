package media

import (
	"image"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/gonum/dsp/fourier"
)

// AudioInfo describes a recording.
type AudioInfo struct {
	Seconds    float64 `json:"seconds"`
	SampleRate int     `json:"sample_rate"`
	Channels   int     `json:"channels"`
	Bits       int     `json:"bits"`
	RMSdBFS    float64 `json:"rms_dbfs"`  // over all samples of all channels
	PeakdBFS   float64 `json:"peak_dbfs"` // the largest sample
	// Spectral features over the frames that are not silent, from a
	// 2048-point FFT of Hann-windowed frames of the mono mix.
	CentroidHz float64   `json:"centroid_hz"`
	RolloffHz  float64   `json:"rolloff_hz"` // below it lies 85% of the power
	LogMel     []float64 `json:"log_mel"`    // mean log10 power of 40 mel bands, 0 Hz to Nyquist
	// Segments of sound and silence by frame energy against a threshold
	// above the recording's noise floor.
	ThresholdDBFS float64   `json:"threshold_dbfs"`
	Segments      []Segment `json:"segments"`
	SoundShare    float64   `json:"sound_share"` // share of the time in sound segments
}

// Segment is a stretch of sound (speech, music) or silence.
type Segment struct {
	Kind  string  `json:"kind"` // "speech" or "silence"
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

const (
	fftSize   = 2048
	melBands  = 40
	waveWidth = 1200
	waveTall  = 160
	rolloffAt = 0.85
	floorDBFS = -120.0
)

// audioAnalyser takes the samples of a stream as they are decoded, keeping
// per-frame figures only: memory does not grow with the recording (but for
// one float per 2048-sample frame for the segments).
type audioAnalyser struct {
	rate, channels int

	n          int64 // samples per channel seen
	sumSq      float64
	count      int64
	peak       float64
	frame      []float64 // mono samples of the frame being filled
	window     []float64
	fft        *fourier.FFT
	coeff      []complex128
	melFilters [][]float64 // per band, weights over the FFT bins
	energies   []float64   // dBFS per frame
	// Spectral sums over frames, kept per frame so silent ones can be left
	// out once the threshold is known.
	centroids, rolloffs []float64
	mel                 [][melBands]float64

	wave waveform
}

func newAudioAnalyser(rate, channels int) *audioAnalyser {
	a := &audioAnalyser{rate: rate, channels: channels, fft: fourier.NewFFT(fftSize), window: make([]float64, fftSize)}
	for i := range a.window {
		a.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(fftSize-1))
	}
	a.melFilters = melFilterbank(rate, fftSize, melBands)
	a.wave = waveform{width: waveWidth, per: 1}
	return a
}

// add takes interleaved samples.
func (a *audioAnalyser) add(s []float64) {
	ch := a.channels
	for i := 0; i+ch <= len(s); i += ch {
		m := 0.0
		for c := 0; c < ch; c++ {
			v := s[i+c]
			a.sumSq += v * v
			if av := math.Abs(v); av > a.peak {
				a.peak = av
			}
			m += v
		}
		a.count += int64(ch)
		m /= float64(ch)
		a.wave.add(m)
		a.frame = append(a.frame, m)
		a.n++
		if len(a.frame) == fftSize {
			a.analyseFrame()
			a.frame = a.frame[:0]
		}
	}
}

func (a *audioAnalyser) analyseFrame() {
	sq := 0.0
	buf := make([]float64, fftSize)
	for i, v := range a.frame {
		sq += v * v
		buf[i] = v * a.window[i]
	}
	a.energies = append(a.energies, dbfs(math.Sqrt(sq/float64(len(a.frame)))))
	a.coeff = a.fft.Coefficients(a.coeff, buf)
	power := make([]float64, len(a.coeff))
	total, weighted := 0.0, 0.0
	binHz := float64(a.rate) / fftSize
	for k, c := range a.coeff {
		p := real(c)*real(c) + imag(c)*imag(c)
		power[k] = p
		total += p
		weighted += p * float64(k) * binHz
	}
	centroid, rolloff := 0.0, 0.0
	if total > 0 {
		centroid = weighted / total
		acc := 0.0
		for k, p := range power {
			acc += p
			if acc >= rolloffAt*total {
				rolloff = float64(k) * binHz
				break
			}
		}
	}
	var mel [melBands]float64
	for b, f := range a.melFilters {
		e := 0.0
		for k, w := range f {
			e += w * power[k]
		}
		mel[b] = math.Log10(e + 1e-10)
	}
	a.centroids = append(a.centroids, centroid)
	a.rolloffs = append(a.rolloffs, rolloff)
	a.mel = append(a.mel, mel)
}

// finish computes the figures.
func (a *audioAnalyser) finish(bits int) *AudioInfo {
	if len(a.frame) >= fftSize/4 { // a last partial frame long enough to count
		for len(a.frame) < fftSize {
			a.frame = append(a.frame, 0)
		}
		a.analyseFrame()
	}
	info := &AudioInfo{SampleRate: a.rate, Channels: a.channels, Bits: bits, Seconds: round3(float64(a.n) / float64(a.rate))}
	if a.count > 0 {
		info.RMSdBFS = round1(dbfs(math.Sqrt(a.sumSq / float64(a.count))))
	}
	info.PeakdBFS = round1(dbfs(a.peak))
	info.ThresholdDBFS = round1(silenceThreshold(a.energies))
	frameSec := float64(fftSize) / float64(a.rate)
	info.Segments, info.SoundShare = segments(a.energies, info.ThresholdDBFS, frameSec, info.Seconds)
	var c, r float64
	mel := make([]float64, melBands)
	used := 0
	for i, e := range a.energies {
		if e < info.ThresholdDBFS {
			continue
		}
		c += a.centroids[i]
		r += a.rolloffs[i]
		for b := range mel {
			mel[b] += a.mel[i][b]
		}
		used++
	}
	if used > 0 {
		info.CentroidHz = math.Round(c / float64(used))
		info.RolloffHz = math.Round(r / float64(used))
		for b := range mel {
			mel[b] = round3(mel[b] / float64(used))
		}
		info.LogMel = mel
	}
	return info
}

// silenceThreshold is 12 dB above the noise floor (the 10th percentile of
// the frames' energy), but at most 6 dB under the loud frames (the 90th
// percentile: a steady tone has no quiet floor) and never under -60 dBFS
// (quieter is silence, whatever the recording).
func silenceThreshold(energies []float64) float64 {
	if len(energies) == 0 {
		return -60
	}
	s := append([]float64(nil), energies...)
	sort.Float64s(s)
	floor, loud := s[len(s)/10], s[len(s)*9/10]
	return math.Max(-60, math.Min(floor+12, loud-6))
}

// segments splits the frames into sound and silence, bridging gaps of
// silence shorter than 0.3 s and dropping sound shorter than 0.1 s.
func segments(energies []float64, thr, frameSec, total float64) ([]Segment, float64) {
	if len(energies) == 0 {
		return []Segment{}, 0
	}
	active := make([]bool, len(energies))
	for i, e := range energies {
		active[i] = e >= thr
	}
	bridge := int(math.Ceil(0.3 / frameSec))
	minSound := int(math.Ceil(0.1 / frameSec))
	// Bridge short gaps.
	for i := 0; i < len(active); {
		if active[i] {
			i++
			continue
		}
		j := i
		for j < len(active) && !active[j] {
			j++
		}
		if i > 0 && j < len(active) && j-i < bridge {
			for k := i; k < j; k++ {
				active[k] = true
			}
		}
		i = j
	}
	// Drop short sounds.
	for i := 0; i < len(active); {
		if !active[i] {
			i++
			continue
		}
		j := i
		for j < len(active) && active[j] {
			j++
		}
		if j-i < minSound {
			for k := i; k < j; k++ {
				active[k] = false
			}
		}
		i = j
	}
	var out []Segment
	sound := 0.0
	for i := 0; i < len(active); {
		j := i
		for j < len(active) && active[j] == active[i] {
			j++
		}
		s := Segment{Kind: "silence", Start: round3(float64(i) * frameSec), End: round3(math.Min(total, float64(j)*frameSec))}
		if active[i] {
			s.Kind = "speech"
			sound += s.End - s.Start
		}
		out = append(out, s)
		i = j
	}
	share := 0.0
	if total > 0 {
		share = round3(math.Min(1, sound/total))
	}
	return out, share
}

// melFilterbank builds triangular filters evenly spaced on the mel scale.
func melFilterbank(rate, n, bands int) [][]float64 {
	mel := func(f float64) float64 { return 2595 * math.Log10(1+f/700) }
	hz := func(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }
	bins := n/2 + 1
	top := mel(float64(rate) / 2)
	edges := make([]float64, bands+2)
	for i := range edges {
		edges[i] = hz(top*float64(i)/float64(bands+1)) * float64(n) / float64(rate)
	}
	out := make([][]float64, bands)
	for b := range out {
		f := make([]float64, bins)
		lo, mid, hi := edges[b], edges[b+1], edges[b+2]
		for k := range f {
			x := float64(k)
			switch {
			case x > lo && x <= mid && mid > lo:
				f[k] = (x - lo) / (mid - lo)
			case x > mid && x < hi && hi > mid:
				f[k] = (hi - x) / (hi - mid)
			}
		}
		out[b] = f
	}
	return out
}

func dbfs(x float64) float64 {
	if x <= 0 {
		return floorDBFS
	}
	return math.Max(floorDBFS, 20*math.Log10(x))
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// waveform keeps the minimum and maximum of the mono mix over columns of
// per samples; when the columns pass twice the width, neighbours merge and
// per doubles, so any length fits in a bounded buffer.
type waveform struct {
	width   int
	per     int
	fill    int
	lo, hi  []float64
	curLo   float64
	curHi   float64
	started bool
}

func (w *waveform) add(v float64) {
	if !w.started || w.fill == 0 {
		w.curLo, w.curHi, w.started = v, v, true
	}
	w.curLo, w.curHi = math.Min(w.curLo, v), math.Max(w.curHi, v)
	w.fill++
	if w.fill == w.per {
		w.lo, w.hi = append(w.lo, w.curLo), append(w.hi, w.curHi)
		w.fill = 0
		if len(w.lo) >= 2*w.width {
			for i := 0; i < len(w.lo)/2; i++ {
				w.lo[i] = math.Min(w.lo[2*i], w.lo[2*i+1])
				w.hi[i] = math.Max(w.hi[2*i], w.hi[2*i+1])
			}
			w.lo, w.hi = w.lo[:len(w.lo)/2], w.hi[:len(w.hi)/2]
			w.per *= 2
		}
	}
}

// picture draws the waveform, with the sound segments shaded.
func (w *waveform) picture(segs []Segment, seconds float64) *image.RGBA {
	lo, hi := w.lo, w.hi
	if w.fill > 0 {
		lo, hi = append(lo, w.curLo), append(hi, w.curHi)
	}
	img := image.NewRGBA(image.Rect(0, 0, waveWidth, waveTall))
	bg := color.RGBA{0x0f, 0x17, 0x2a, 0xff}
	shade := color.RGBA{0x1e, 0x29, 0x3b, 0xff}
	ink := color.RGBA{0x38, 0xbd, 0xf8, 0xff}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = bg.R, bg.G, bg.B, bg.A
	}
	for _, s := range segs {
		if s.Kind != "speech" || seconds <= 0 {
			continue
		}
		x0, x1 := int(s.Start/seconds*waveWidth), int(math.Ceil(s.End/seconds*waveWidth))
		for x := max(0, x0); x < min(waveWidth, x1); x++ {
			for y := 0; y < waveTall; y++ {
				img.SetRGBA(x, y, shade)
			}
		}
	}
	if len(lo) == 0 {
		return img
	}
	mid := float64(waveTall) / 2
	for x := 0; x < waveWidth; x++ {
		i := x * len(lo) / waveWidth
		j := max(i+1, (x+1)*len(lo)/waveWidth)
		a, b := 1.0, -1.0
		for k := i; k < min(j, len(lo)); k++ {
			a, b = math.Min(a, lo[k]), math.Max(b, hi[k])
		}
		if a > b {
			continue
		}
		y0 := int(mid - b*(mid-2))
		y1 := int(mid - a*(mid-2))
		for y := max(0, y0); y <= min(waveTall-1, y1); y++ {
			img.SetRGBA(x, y, ink)
		}
	}
	return img
}
