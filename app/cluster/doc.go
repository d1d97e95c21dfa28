// Package cluster is Metastation's cluster mode: several nodes share one
// replicated state through hashicorp/raft (the engine Consul, Nomad and Vault
// run on), with raft-boltdb as the log and stable store and raft's file
// snapshot store, all under the node's data directory. No home-made protocol.
//
// What is replicated is the State: audience votes, model-registry alias
// moves (compare-and-set), agent-protocol envelopes of replicated kinds and
// tournament round records. Every write is a Command appended to the raft
// log; a follower forwards it to the leader transparently. Reads are local
// by default and linearizable on request (a read index obtained from the
// leader through a barrier). Each node's SQLite tables (cluster_*) are
// derived from the applied log alone, so a node deleted and rejoined
// rebuilds the same rows.
//
// Node-to-node traffic (raft RPCs and forwarded requests) goes over one TCP
// port per node, in TLS 1.3 with mutual authentication by a key pair derived
// from the shared cluster secret: a node without the secret can neither join
// nor send. A FaultNet injects partitions, delays and connection drops into
// that traffic for the fault tests.
//
// The package knows nothing of HTTP: the web layer calls Node's methods.
package cluster
