package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/metastation/metastation/app/errs"
)

// extractAudio decodes a WAV, MP3 or FLAC file in blocks, feeding the
// analyser, so a long recording costs the same memory as a short one. The
// declared duration is checked before decoding.
func (p *Pipeline) extractAudio(ctx context.Context, f io.ReaderAt, size int64, format Format, frac func(float64)) (*extracted, error) {
	var src pcm
	var err error
	switch format {
	case WAV:
		src, err = openWAV(f, size)
	case MP3:
		src, err = openMP3(f, size)
	case FLAC:
		src, err = openFLAC(f, size)
	}
	if err != nil {
		return nil, err
	}
	max := p.cfg.Limits.MaxAudioSeconds
	if d := src.Declared(); d > max {
		return nil, errs.Errorf(errs.Invalid, "the recording declares %s; at most %s are read", duration(d), duration(max))
	}
	a := newAudioAnalyser(src.Rate(), src.Channels())
	buf := make([]float64, 8192*src.Channels())
	for blocks := 0; ; blocks++ {
		n, err := src.Read(buf)
		a.add(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errTruncated) {
				return nil, errs.Wrap(errs.Invalid, err, "the %s file is truncated: it ends before its last audio frame", strings.ToUpper(string(format)))
			}
			return nil, errs.Wrap(errs.Invalid, err, "the %s file is damaged: its audio could not be decoded", strings.ToUpper(string(format)))
		}
		if blocks%16 == 0 {
			if err := ctxErr(ctx); err != nil {
				return nil, err
			}
			if d := src.Declared(); d > 0 {
				frac(min(1, float64(a.n)/float64(src.Rate())/d))
			}
		}
		if float64(a.n)/float64(src.Rate()) > max {
			return nil, errs.Errorf(errs.Invalid, "the recording is longer than the %s that are read", duration(max))
		}
	}
	if a.n == 0 {
		return nil, errs.Errorf(errs.Invalid, "the %s file holds no audio samples", strings.ToUpper(string(format)))
	}
	info := a.finish(src.Bits())
	wave, err := encodePNG(a.wave.picture(info.Segments, info.Seconds))
	if err != nil {
		return nil, fmt.Errorf("media: waveform: %w", err)
	}
	ex := &extracted{kind: Audio, part: "text", info: Info{Audio: info},
		assets: []Asset{{Name: "waveform", MIME: "image/png", Data: wave}}}
	ex.info.Notes = append(ex.info.Notes, "No speech-to-text model ships with Metastation, so the words spoken are not transcribed; the recording is described by its sound.")
	ex.summary, ex.desc = describeAudio(format, info)
	return ex, nil
}

func describeAudio(format Format, a *AudioInfo) (summary, desc string) {
	ch := map[int]string{1: "mono", 2: "stereo"}[a.Channels]
	if ch == "" {
		ch = fmt.Sprintf("%d channels", a.Channels)
	}
	summary = fmt.Sprintf("%s audio, %s, %d Hz %s", strings.ToUpper(string(format)), duration(a.Seconds), a.SampleRate, ch)
	speech, silence := 0, 0
	for _, s := range a.Segments {
		if s.Kind == "speech" {
			speech++
		} else {
			silence++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Sound recording (%s): %s long, %d Hz %s, loudness %.1f dBFS RMS with peaks at %.1f dBFS. ",
		strings.ToUpper(string(format)), duration(a.Seconds), a.SampleRate, ch, a.RMSdBFS, a.PeakdBFS)
	switch {
	case a.SoundShare == 0:
		b.WriteString("It is silent throughout.")
	case silence == 0:
		b.WriteString("Sound, speech or music, plays throughout without pauses.")
	default:
		fmt.Fprintf(&b, "%d stretches of speech or sound fill %.0f%% of it, with %d pauses of silence.", speech, 100*a.SoundShare, silence)
	}
	switch {
	case a.CentroidHz == 0:
	case a.CentroidHz < 800:
		b.WriteString(" Its tone is low and dark (bass, hum, a deep voice).")
	case a.CentroidHz < 2500:
		b.WriteString(" Its tone is in the range of a speaking voice.")
	default:
		b.WriteString(" Its tone is bright and high (hiss, cymbals, whistles).")
	}
	summary += fmt.Sprintf(", %.0f%% sound", 100*a.SoundShare)
	return summary, b.String()
}

// duration says a length in seconds the way a person does.
func duration(s float64) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%.1f seconds", s)
	case s < 3600:
		return fmt.Sprintf("%d min %02d s", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%d h %02d min", int(s)/3600, int(s)%3600/60)
}
