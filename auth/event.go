package auth

import (
	"context"
	"fmt"
	"strings"

	"gatehouse/models"
)

// Record writes one entry in userID's security log: what happened (one
// of the models.Event… kinds), from where, and a short detail. It is one
// insert. A failed write is logged and does not fail the action it
// records: by then the action has happened (a session opened, a password
// changed), and answering an error would tell the client it had not. It
// is written even if the client has gone away meanwhile.
func (s *Service) Record(ctx context.Context, userID uint64, kind string, client Client, detail string) {
	e := &models.Event{
		UserID:    userID,
		Kind:      kind,
		IP:        client.ip(),
		UserAgent: client.userAgent(),
		At:        s.now().UTC(),
		Detail:    models.Truncate(detail, 255),
	}
	if err := s.store.AddEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("security log write failed", "user_id", userID, "kind", kind, "err", err)
	}
}

// by names who did something to someone else's account, for an event's detail.
func by(actor *Caller) string {
	if actor == nil || actor.User == nil {
		return "by the CLI"
	}
	return "by " + actor.User.Email
}

// sessionsEnded words a count of ended sessions.
func sessionsEnded(n int64, other bool) string {
	what := "session"
	if other {
		what = "other session"
	}
	if n != 1 {
		what += "s"
	}
	return fmt.Sprintf("%d %s ended", n, what)
}

func joinDetail(parts []string, actor *Caller) string {
	return strings.Join(parts, "; ") + " (" + by(actor) + ")"
}

// Events is userID's security log as clients see it, newest first, at
// most limit events (models.MaxEvents).
func (s *Service) Events(ctx context.Context, userID uint64, limit int) ([]models.EventView, error) {
	rows, err := s.store.EventsByUser(ctx, userID, limit)
	if err != nil {
		return nil, err
	}
	views := make([]models.EventView, 0, len(rows))
	for i := range rows {
		views = append(views, rows[i].View())
	}
	return views, nil
}
