package bus

import "context"

// Topic names a topic whose payloads are all of type T. It gives publishers and
// subscribers a compile-time check on what travels on a topic.
type Topic[T any] struct{ Name string }

// NewTopic returns a typed topic.
func NewTopic[T any](name string) Topic[T] { return Topic[T]{Name: name} }

// Publish sends v on t from the agent from (to may be empty for a broadcast).
func (t Topic[T]) Publish(b *Bus, from, to, kind string, v T) Envelope {
	return b.Publish(Envelope{Topic: t.Name, From: from, To: to, Kind: kind, Payload: v})
}

// Receive waits for the next envelope on sub whose payload is a T and returns
// it. It skips envelopes of other types and stops when ctx ends.
func Receive[T any](ctx context.Context, sub *Subscription) (Envelope, T, error) {
	var zero T
	for {
		select {
		case <-ctx.Done():
			return Envelope{}, zero, ctx.Err()
		case e := <-sub.C():
			if v, ok := e.Payload.(T); ok {
				return e, v, nil
			}
		}
	}
}
