package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/metastation/metastation/app/errs"
)

// maxScenes is how many scene-change frames a clip keeps.
const maxScenes = 6

// extractVideo reads an MP4 or MOV file's boxes (duration, resolution, frame
// rate, codecs, keyframes) with the parser in mp4.go, then, when ffmpeg is
// installed, takes a thumbnail and the frames where the scene changes.
func (p *Pipeline) extractVideo(ctx context.Context, f *os.File, size int64, format Format) (*extracted, error) {
	lim := p.cfg.Limits
	brand, moov, fragmented, err := mp4Top(f, size, lim.MaxMoov)
	switch {
	case errors.Is(err, errTruncated):
		return nil, errs.Wrap(errs.Invalid, err, "the %s file is truncated: a box runs past the end of the file", strings.ToUpper(string(format)))
	case err != nil:
		return nil, errs.Wrap(errs.Invalid, err, "the %s file's boxes are damaged", strings.ToUpper(string(format)))
	case moov == nil:
		return nil, errs.Errorf(errs.Invalid, "the %s file has no movie header (moov box): it is truncated or not a finished recording", strings.ToUpper(string(format)))
	}
	v, err := parseMoov(moov, lim.MaxBoxDepth)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "the %s file's movie header is damaged", strings.ToUpper(string(format)))
	}
	v.Container, v.Brand = string(format), cleanASCII(brand)
	ex := &extracted{kind: Video, part: "text", info: Info{Video: v}}
	if fragmented || (v.VideoCodec != "" && v.Frames == 0) {
		p.probe(ctx, f.Name(), v, &ex.info)
	}
	if v.Seconds > lim.MaxVideoSeconds {
		return nil, errs.Errorf(errs.Invalid, "the clip declares %s; at most %s are read", duration(v.Seconds), duration(lim.MaxVideoSeconds))
	}
	if px := int64(v.Width) * int64(v.Height); px > lim.MaxPixels {
		return nil, errs.Errorf(errs.Invalid, "the clip's frames are %d × %d; at most %.1f megapixels are read", v.Width, v.Height, float64(lim.MaxPixels)/1e6)
	}
	if v.VideoCodec == "" && v.AudioCodec == "" {
		return nil, errs.Errorf(errs.Invalid, "the %s file has no video or audio track", strings.ToUpper(string(format)))
	}
	if v.VideoCodec != "" {
		p.frames(ctx, f.Name(), v, ex)
	}
	ex.summary, ex.desc = describeVideo(v)
	return ex, nil
}

// probe asks ffprobe for what the boxes did not say (a fragmented MP4 keeps
// its samples in moof boxes).
func (p *Pipeline) probe(ctx context.Context, path string, v *VideoInfo, info *Info) {
	if p.cfg.Tools.FFprobe == "" {
		info.Notes = append(info.Notes, "The file is fragmented and ffprobe is not installed, so its frame count and rate are not known (apt-get install ffmpeg).")
		return
	}
	out, err := runTool(ctx, p.cfg.ToolTimeout, p.cfg.Tools.FFprobe, nil, "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=width,height,avg_frame_rate,nb_read_packets:format=duration", "-of", "json", "file:"+path)
	if err != nil {
		info.Notes = append(info.Notes, "ffprobe could not read the file: "+err.Error()+".")
		return
	}
	var r struct {
		Streams []struct {
			Width, Height int
			Rate          string `json:"avg_frame_rate"`
			Packets       string `json:"nb_read_packets"`
		}
		Format struct{ Duration string }
	}
	if json.Unmarshal(out, &r) != nil || len(r.Streams) == 0 {
		return
	}
	s := r.Streams[0]
	if s.Width > 0 {
		v.Width, v.Height = s.Width, s.Height
	}
	if n, err := strconv.Atoi(s.Packets); err == nil {
		v.Frames = n
	}
	if d, err := strconv.ParseFloat(r.Format.Duration, 64); err == nil && d > 0 {
		v.Seconds = round3(d)
	}
	if a, b, ok := strings.Cut(s.Rate, "/"); ok {
		x, e1 := strconv.ParseFloat(a, 64)
		y, e2 := strconv.ParseFloat(b, 64)
		if e1 == nil && e2 == nil && y > 0 {
			v.FPS = round3(x / y)
		}
	}
}

// frames takes a thumbnail a tenth of the way in and up to maxScenes frames
// where the picture changes most (ffmpeg's scene score above 0.3).
func (p *Pipeline) frames(ctx context.Context, path string, v *VideoInfo, ex *extracted) {
	if p.cfg.Tools.FFmpeg == "" {
		ex.info.Notes = append(ex.info.Notes, "ffmpeg is not installed, so no thumbnail or scene frames were taken; the metadata comes from the file's boxes (apt-get install ffmpeg).")
		return
	}
	dir, err := os.MkdirTemp(p.files.tmpDir(), "frames-*")
	if err != nil {
		ex.info.Notes = append(ex.info.Notes, "No frames were taken: no temporary directory.")
		return
	}
	defer os.RemoveAll(dir)
	at := strconv.FormatFloat(math.Max(0, v.Seconds/10), 'f', 3, 64)
	thumb := filepath.Join(dir, "thumb.jpg")
	if _, err := runTool(ctx, p.cfg.ToolTimeout, p.cfg.Tools.FFmpeg, nil, "-nostdin", "-v", "error", "-ss", at, "-i", "file:"+path,
		"-frames:v", "1", "-vf", fmt.Sprintf("scale=%d:-2", thumbSize), "-q:v", "4", "-y", thumb); err != nil {
		ex.info.Notes = append(ex.info.Notes, "ffmpeg could not take a thumbnail: "+err.Error()+".")
		return
	}
	if b, err := os.ReadFile(thumb); err == nil && len(b) > 0 {
		ex.assets = append(ex.assets, Asset{Name: "thumb", MIME: "image/jpeg", Data: b})
	}
	// showinfo prints each kept frame's time on stderr; the frames' file
	// order is their time order, which is enough to label them.
	if _, err := runTool(ctx, p.cfg.ToolTimeout, p.cfg.Tools.FFmpeg, nil, "-nostdin", "-v", "error", "-i", "file:"+path,
		"-vf", "select='gt(scene,0.3)',scale=160:-2", "-fps_mode", "vfr", "-frames:v", strconv.Itoa(maxScenes), "-q:v", "5", "-y",
		filepath.Join(dir, "scene-%d.jpg")); err != nil {
		ex.info.Notes = append(ex.info.Notes, "ffmpeg could not find scene changes: "+err.Error()+".")
		return
	}
	names, _ := filepath.Glob(filepath.Join(dir, "scene-*.jpg"))
	sort.Slice(names, func(i, j int) bool { return sceneNum(names[i]) < sceneNum(names[j]) })
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil && len(b) > 0 {
			ex.assets = append(ex.assets, Asset{Name: fmt.Sprintf("scene-%d", sceneNum(n)), MIME: "image/jpeg", Data: b})
		}
	}
	if len(names) == 0 {
		ex.info.Notes = append(ex.info.Notes, "ffmpeg found no scene change: the clip is one shot.")
	}
}

func sceneNum(path string) int {
	s := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "scene-"), ".jpg")
	n, _ := strconv.Atoi(s)
	return n
}

var codecNames = map[string]string{
	"avc1": "H.264", "avc3": "H.264", "hvc1": "H.265", "hev1": "H.265", "mp4v": "MPEG-4 Part 2", "av01": "AV1",
	"vp09": "VP9", "vp08": "VP8", "jpeg": "Motion JPEG", "mjpa": "Motion JPEG", "apch": "ProRes", "apcn": "ProRes",
	"gif": "GIF", "mp4a": "AAC", "ac-3": "AC-3", "ec-3": "E-AC-3", "Opus": "Opus", "fLaC": "FLAC", "lpcm": "PCM", "sowt": "PCM", "twos": "PCM", ".mp3": "MP3",
}

func codecName(c string) string {
	if n, ok := codecNames[c]; ok {
		return n
	}
	return c
}

func describeVideo(v *VideoInfo) (summary, desc string) {
	summary = fmt.Sprintf("%s video, %s", strings.ToUpper(v.Container), duration(v.Seconds))
	var b strings.Builder
	fmt.Fprintf(&b, "Video clip (%s): %s long", strings.ToUpper(v.Container), duration(v.Seconds))
	if v.VideoCodec != "" {
		summary += fmt.Sprintf(", %d × %d at %.3g fps", v.Width, v.Height, v.FPS)
		fmt.Fprintf(&b, ", %d × %d pixels at %.3g frames per second, %s, %s of which %s", v.Width, v.Height, v.FPS,
			codecName(v.VideoCodec), plural(v.Frames, "frame"), plural(v.Keyframes, "keyframe"))
	} else {
		b.WriteString(", sound only")
	}
	if v.AudioCodec != "" {
		fmt.Fprintf(&b, ", with %s sound", codecName(v.AudioCodec))
	} else if v.VideoCodec != "" {
		b.WriteString(", silent (no sound track)")
	}
	b.WriteString(".")
	return summary, b.String()
}
