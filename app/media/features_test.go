package media

import (
	"math"
	"testing"
	"time"
)

func TestAudioFeatures(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true})
	bursts := [][2]float64{{0.5, 1.5}, {2.0, 3.2}}
	res, err := e.ingest(t, "call.wav", wavBytes(16000, 1, speechLike(16000, bursts, 4, 1)))
	if err != nil {
		t.Fatal(err)
	}
	a := res.Item.Info.Audio
	if a.Seconds != 4 || a.SampleRate != 16000 || a.Channels != 1 || a.Bits != 16 {
		t.Fatalf("format %+v", a)
	}
	var speech []Segment
	for _, s := range a.Segments {
		if s.Kind == "speech" {
			speech = append(speech, s)
		}
	}
	if len(speech) != 2 {
		t.Fatalf("segments %+v", a.Segments)
	}
	for i, s := range speech {
		// Frames are 128 ms; the envelope's quiet ends may fall under the threshold.
		if math.Abs(s.Start-bursts[i][0]) > 0.3 || math.Abs(s.End-bursts[i][1]) > 0.3 {
			t.Fatalf("speech %d at %+v, synthesised at %v", i, s, bursts[i])
		}
	}
	if a.PeakdBFS > 0 || a.PeakdBFS < -12 || a.RMSdBFS > a.PeakdBFS || a.CentroidHz < 150 || a.CentroidHz > 1500 || len(a.LogMel) != melBands {
		t.Fatalf("levels %+v", a)
	}
	if len(res.Item.Assets) != 1 || res.Item.Assets[0] != "waveform" {
		t.Fatalf("assets %q", res.Item.Assets)
	}
}

func TestToneCentroid(t *testing.T) {
	rate := 44100
	for _, hz := range []float64{440, 3000} {
		a := newAudioAnalyser(rate, 1)
		s := make([]float64, rate*2)
		for i := range s {
			s[i] = 0.5 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))
		}
		a.add(s)
		info := a.finish(16)
		if math.Abs(info.CentroidHz-hz) > hz*0.05 {
			t.Fatalf("centroid of a %.0f Hz tone: %.0f", hz, info.CentroidHz)
		}
		if math.Abs(info.PeakdBFS-(-6.0)) > 0.2 || math.Abs(info.RMSdBFS-(-9.0)) > 0.2 {
			t.Fatalf("levels of a 0.5 sine: peak %.1f rms %.1f", info.PeakdBFS, info.RMSdBFS)
		}
	}
}

func TestImageEXIF(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true})
	res, err := e.ingest(t, "photo.jpg", withEXIF(jpegBytes(chartImage(300, 200, "", 2), 90), 6, "2024:03:05 10:20:30"))
	if err != nil {
		t.Fatal(err)
	}
	im := res.Item.Info.Image
	if im.Width != 300 || im.Height != 200 || im.Orientation != 6 || im.EXIF.Make != "Testcam" ||
		!im.EXIF.Taken.Equal(time.Date(2024, 3, 5, 10, 20, 30, 0, time.UTC)) {
		t.Fatalf("image %+v exif %+v", im, im.EXIF)
	}
	if len(im.Colours) == 0 || im.Colours[0].Name != "white" || im.Brightness < 0.8 {
		t.Fatalf("colours %+v brightness %v", im.Colours, im.Brightness)
	}
	thumb, err := e.p.Asset(t.Context(), res.Item.ID, "thumb")
	if err != nil || thumb.MIME != "image/jpeg" {
		t.Fatal(err)
	}
}

func TestTableStatistics(t *testing.T) {
	e := open(t, t.TempDir(), Config{NoTools: true})
	res, err := e.ingest(t, "spy.csv", marketCSV(500))
	if err != nil {
		t.Fatal(err)
	}
	d := res.Item.Info.Data
	if d.Rows != 500 || !d.Header || !d.Market || d.Delimiter != "," || len(d.Columns) != 7 || len(d.Preview) != previewRows {
		t.Fatalf("table %+v", d)
	}
	want := map[string]string{"Date": "date", "Open": "number", "Volume": "integer"}
	for _, c := range d.Columns {
		if w, ok := want[c.Name]; ok && c.Type != w {
			t.Fatalf("column %s is %s, want %s", c.Name, c.Type, w)
		}
	}
	if d.Columns[0].Distinct != 500 || d.Columns[0].Exact {
		// 500 distinct dates pass the sketch's 256: an estimate within 15%.
		if math.Abs(float64(d.Columns[0].Distinct)-500) > 75 {
			t.Fatalf("distinct dates %d", d.Columns[0].Distinct)
		}
	}
}
