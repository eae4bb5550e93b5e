package directory

import "context"

// Actor is who makes a change: an authenticated user of the API. Requests
// without an actor in their context come from the operator (CLI verbs,
// `teamline apply`, start-up) and may change everything.
type Actor struct {
	UserID   int64
	Username string
	Role     Role
}

type actorKey struct{}

// WithActor returns a context carrying the acting user.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the acting user, if the context carries one.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// isManager: the operator or a manager.
func isManager(ctx context.Context) bool {
	a, ok := ActorFrom(ctx)
	return !ok || a.Role.IsManager()
}

// isPrimary: the operator or the primary manager.
func isPrimary(ctx context.Context) bool {
	a, ok := ActorFrom(ctx)
	return !ok || a.Role == RolePrimaryManager
}

// requireManager refuses agents (R-ACC-1: managers change the directory).
func requireManager(ctx context.Context, what string) error {
	if isManager(ctx) {
		return nil
	}
	return forbiddenf("only managers may %s", what)
}
