package media

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/metastation/metastation/app/errs"
)

// SniffBytes is how much of a file Sniff looks at.
const SniffBytes = 8 << 10

// Sniff tells a file's format from its first bytes (at most SniffBytes of
// them; head may be shorter when the file is). The file's name is never
// consulted: a PNG called notes.txt is a PNG. Archives are refused (a file
// inside a file could be anything, and nesting is how bombs are built), and
// so is any binary format the pipeline does not read.
func Sniff(head []byte) (Format, error) {
	if len(head) > SniffBytes {
		head = head[:SniffBytes]
	}
	if len(head) == 0 {
		return "", errs.Errorf(errs.Invalid, "the file is empty")
	}
	if f, ok := sniffBinary(head); ok {
		return f, nil
	}
	if what := archiveName(head); what != "" {
		return "", errs.Errorf(errs.Invalid, "the file is %s; archives and containers are not opened (unpack it and upload the files inside)", what)
	}
	text, ok := textOf(head, len(head) == SniffBytes)
	if !ok {
		return "", errs.Errorf(errs.Invalid, "the file is binary data of a kind Metastation does not read (text, PDF, PNG, JPEG, GIF, WebP, WAV, MP3, FLAC, MP4, MOV, CSV, JSON, Parquet)")
	}
	return sniffText(text, len(head) == SniffBytes), nil
}

func sniffBinary(h []byte) (Format, bool) {
	has := func(off int, sig string) bool {
		return len(h) >= off+len(sig) && string(h[off:off+len(sig)]) == sig
	}
	switch {
	case has(0, "%PDF-"):
		return PDF, true
	case has(0, "\x89PNG\r\n\x1a\n"):
		return PNG, true
	case has(0, "\xff\xd8\xff"):
		return JPEG, true
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return GIF, true
	case has(0, "RIFF") && has(8, "WEBP"):
		return WEBP, true
	case has(0, "RIFF") && has(8, "WAVE"):
		return WAV, true
	case has(0, "fLaC"):
		return FLAC, true
	case has(0, "ID3") && len(h) >= 10:
		return MP3, true
	case has(4, "ftyp"):
		if has(8, "qt  ") {
			return MOV, true
		}
		return MP4, true
	case has(4, "moov"), has(4, "mdat") && len(h) >= 8, has(4, "wide"):
		return MOV, true
	case has(0, "PAR1"):
		return Parquet, true
	}
	if isMP3Frame(h) {
		return MP3, true
	}
	return "", false
}

// archiveName names the archive or compressed container h starts, or "".
func archiveName(h []byte) string {
	has := func(off int, sig string) bool {
		return len(h) >= off+len(sig) && string(h[off:off+len(sig)]) == sig
	}
	switch {
	case has(0, "PK\x03\x04"), has(0, "PK\x05\x06"), has(0, "PK\x07\x08"):
		return "a zip archive (or a format built on one: docx, xlsx, epub, jar)"
	case has(0, "\x1f\x8b"):
		return "gzip-compressed"
	case has(0, "BZh"):
		return "bzip2-compressed"
	case has(0, "\xfd7zXZ\x00"):
		return "xz-compressed"
	case has(0, "\x28\xb5\x2f\xfd"):
		return "zstd-compressed"
	case has(0, "7z\xbc\xaf\x27\x1c"):
		return "a 7-Zip archive"
	case has(0, "Rar!\x1a\x07"):
		return "a RAR archive"
	case has(257, "ustar"):
		return "a tar archive"
	case has(0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
		return "an OLE compound file (old Office format)"
	}
	return ""
}

// isMP3Frame reports whether h starts with an MPEG audio frame header and,
// when h is long enough, a second one where the first frame ends: one header
// alone is four bytes that random data often matches.
func isMP3Frame(h []byte) bool {
	n, ok := mp3FrameLen(h)
	if !ok {
		return false
	}
	if len(h) < n+4 {
		return len(h) < 4+1441 // a short file with one valid header
	}
	_, ok = mp3FrameLen(h[n:])
	return ok
}

// mp3FrameLen decodes an MPEG-1/2/2.5 layer I-III frame header.
func mp3FrameLen(h []byte) (int, bool) {
	if len(h) < 4 || h[0] != 0xff || h[1]&0xe0 != 0xe0 {
		return 0, false
	}
	version := (h[1] >> 3) & 3 // 0: 2.5, 1: reserved, 2: 2, 3: 1
	layer := (h[1] >> 1) & 3   // 1: III, 2: II, 3: I
	br := int(h[2] >> 4)
	sr := int((h[2] >> 2) & 3)
	pad := int((h[2] >> 1) & 1)
	if version == 1 || layer == 0 || br == 0 || br == 15 || sr == 3 {
		return 0, false
	}
	rates := [4][3]int{{11025, 12000, 8000}, {}, {22050, 24000, 16000}, {44100, 48000, 32000}}
	rate := rates[version][sr]
	var kbps int
	if version == 3 {
		kbps = [4][15]int{{}, // layer III, II, I for MPEG-1
			{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
			{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448}}[layer][br]
	} else {
		kbps = [4][15]int{{},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256}}[layer][br]
	}
	switch {
	case layer == 3:
		return (12*kbps*1000/rate + pad) * 4, true
	case layer == 1 && version != 3:
		return 72*kbps*1000/rate + pad, true
	default:
		return 144*kbps*1000/rate + pad, true
	}
}

// textOf decodes h as text (UTF-8, or UTF-16 with a byte-order mark, or
// Latin-1 when it is not UTF-8 but has no control bytes) and reports whether
// it is text at all. cut says h may end inside a character.
func textOf(h []byte, cut bool) (string, bool) {
	switch {
	case bytes.HasPrefix(h, []byte("\xef\xbb\xbf")):
		h = h[3:]
	case bytes.HasPrefix(h, []byte("\xff\xfe")), bytes.HasPrefix(h, []byte("\xfe\xff")):
		return decodeUTF16(h), true
	}
	if cut {
		// Drop a character the cut split.
		for i := 0; i < utf8.UTFMax && len(h) > 0; i++ {
			if r, size := utf8.DecodeLastRune(h); r != utf8.RuneError || size != 1 {
				break
			}
			h = h[:len(h)-1]
		}
	}
	control := 0
	for _, b := range h {
		if b == 0 {
			return "", false
		}
		if b < 0x20 && b != '\n' && b != '\r' && b != '\t' && b != '\f' {
			control++
		}
	}
	if control*50 > len(h) {
		return "", false
	}
	if utf8.Valid(h) {
		return string(h), true
	}
	return latin1(h), true
}

func decodeUTF16(b []byte) string {
	be := b[0] == 0xfe
	b = b[2:]
	u := make([]uint16, len(b)/2)
	for i := range u {
		if be {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return string(utf16.Decode(u))
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// sniffText tells the text formats apart. cut says s is only the start of
// the file.
func sniffText(s string, cut bool) Format {
	t := bytes.TrimSpace([]byte(s))
	if len(t) == 0 {
		return TXT
	}
	switch t[0] {
	case '{', '[':
		if isJSONLines(t, cut) {
			return JSONL
		}
		if validJSONPrefix(t, cut) {
			return JSON
		}
	case '<':
		if looksHTML(t) {
			return HTML
		}
	}
	if isCSV(t, cut) {
		return CSV
	}
	if looksMarkdown(t) {
		return MD
	}
	return TXT
}

// validJSONPrefix reports whether t is one JSON value, or, when cut, the
// start of one.
func validJSONPrefix(t []byte, cut bool) bool {
	if json.Valid(t) {
		return true
	}
	// A file that is the start of a JSON value (cut by the sniff window, or
	// truncated) is JSON: its reader then says whether it is whole.
	dec := json.NewDecoder(bytes.NewReader(t))
	n := 0
	for {
		if _, err := dec.Token(); err != nil {
			return n >= 2 && (err == io.EOF || err == io.ErrUnexpectedEOF)
		}
		n++
	}
}

// isJSONLines reports whether t holds two or more lines that are each a
// JSON object or array.
func isJSONLines(t []byte, cut bool) bool {
	lines := bytes.Split(t, []byte("\n"))
	if cut && len(lines) > 1 {
		lines = lines[:len(lines)-1]
	}
	n := 0
	for _, l := range lines {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		if (l[0] != '{' && l[0] != '[') || !json.Valid(l) {
			return false
		}
		n++
	}
	return n >= 2
}

func looksHTML(t []byte) bool {
	head := bytes.ToLower(t[:min(len(t), 1024)])
	for _, tag := range []string{"<!doctype html", "<html", "<head", "<body", "<p>", "<p ", "<div", "<h1", "<h2", "<table", "<ul", "<article", "<title", "<meta", "<br", "<a "} {
		if bytes.Contains(head, []byte(tag)) {
			return true
		}
	}
	return false
}

// isCSV reports whether t reads as a table: two or more records with the
// same number (two or more) of short fields, split by a comma, semicolon,
// tab or bar. Prose with commas has long fields and varying counts.
func isCSV(t []byte, cut bool) bool {
	if cut {
		if i := bytes.LastIndexByte(t, '\n'); i > 0 {
			t = t[:i]
		}
	}
	for _, d := range []rune{',', '\t', ';', '|'} {
		if !bytes.ContainsRune(t, d) {
			continue
		}
		r := csv.NewReader(bytes.NewReader(t))
		r.Comma, r.FieldsPerRecord, r.LazyQuotes = d, 0, true
		recs, fields, ok := 0, 0, true
		for recs < 50 {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				ok = false
				break
			}
			for _, f := range rec {
				if len(f) > 256 {
					ok = false
				}
			}
			fields = len(rec)
			recs++
		}
		if ok && recs >= 2 && fields >= 2 {
			return true
		}
	}
	return false
}

func looksMarkdown(t []byte) bool {
	score := 0
	for _, l := range bytes.Split(t[:min(len(t), 4096)], []byte("\n")) {
		l = bytes.TrimRight(l, "\r")
		switch {
		case bytes.HasPrefix(l, []byte("# ")), bytes.HasPrefix(l, []byte("## ")), bytes.HasPrefix(l, []byte("### ")):
			score += 2
		case bytes.HasPrefix(l, []byte("```")):
			score += 2
		case bytes.HasPrefix(l, []byte("- ")), bytes.HasPrefix(l, []byte("* ")), bytes.HasPrefix(l, []byte("> ")):
			score++
		}
		if bytes.Contains(l, []byte("](")) || bytes.Contains(l, []byte("**")) {
			score++
		}
	}
	return score >= 2
}
