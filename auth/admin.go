package auth

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"gatehouse/models"
)

// UserUpdate is an administrator's change to a user; nil fields stay as
// they are (contract §2: PATCH takes any subset).
type UserUpdate struct {
	FullName *string
	Disabled *bool
	Scopes   *[]string
}

// validateName checks a trimmed full name — at sign-up, an administrator's
// rename and the CLI's user add: one line of text (models.ValidateLine: no
// control or format characters) of at most 200 characters. It returns a
// message or "".
func validateName(name string) string {
	switch msg := models.ValidateLine(name); {
	case name == "":
		return "Enter a name."
	case msg != "":
		return msg
	case utf8.RuneCountInString(name) > 200:
		return "Use at most 200 characters."
	}
	return ""
}

// UpdateUser applies an administrator's changes to user id. Unknown
// scopes and bad names are 422 with fields. An administrator cannot
// disable themselves or take admin:write from themselves (422 on the
// field), so nobody locks themselves out by a slip; when they are the
// only administrator, that is the contract's 422 last_admin instead
// (§9). The self-check alone does not keep an administrator: two of them
// can demote each other at the same moment. The rule that does lives in
// the store's transaction: a change that would leave no enabled user with
// admin:write is models.ErrLastAdmin and changes nothing. Disabling
// ends the user's sessions at once; scopes taken away stop working on
// live sessions at once too (callerFor intersects), while scopes given
// apply from the user's next login. Every change is written to the
// user's security log, naming the administrator.
func (s *Service) UpdateUser(ctx context.Context, actor *Caller, id uint64, in UserUpdate, client Client) (*models.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	self := actor.User.ID == u.ID
	fields := map[string]string{}
	var (
		ch      models.UserChanges
		changed []string
		lockout bool // the administrator would take their own admin rights
	)
	if in.FullName != nil {
		name := strings.TrimSpace(*in.FullName)
		if msg := validateName(name); msg != "" {
			fields["full_name"] = msg
		} else if name != u.FullName {
			ch.FullName = &name
			changed = append(changed, "name changed")
		}
	}
	if in.Disabled != nil {
		switch {
		case *in.Disabled && self:
			fields["disabled"] = "You cannot disable your own account."
			lockout = true
		case *in.Disabled != u.Disabled:
			ch.Disabled = in.Disabled
			if *in.Disabled {
				changed = append(changed, "disabled")
			} else {
				changed = append(changed, "enabled")
			}
		}
	}
	if in.Scopes != nil {
		scopes, err := ParseScopes(strings.Join(*in.Scopes, " "))
		switch {
		case err != nil:
			fields["scopes"] = fmt.Sprintf("Unknown scope; choose from %s.", strings.Join(AllScopes, ", "))
		case self && !contains(scopes, ScopeAdminWrite):
			fields["scopes"] = "You cannot remove admin:write from your own account."
			lockout = true
		default:
			if joined := joinScopes(scopes); joined != joinScopes(normalize(u.ScopeList())) {
				ch.Scopes = &joined
				changed = append(changed, "scopes set to "+strings.Join(scopes, " "))
			}
		}
	}
	if lockout {
		// The caller holds admin:write (the route requires it), so they
		// are the only administrator when they are the only holder.
		admins, err := s.store.AdminWriters(ctx)
		if err != nil {
			return nil, err
		}
		if len(admins) == 1 && admins[0] == u.ID {
			return nil, models.ErrLastAdmin
		}
	}
	if len(fields) > 0 {
		return nil, models.InvalidFields(fields)
	}
	if len(changed) == 0 {
		return u, nil
	}
	updated, err := s.store.UpdateUser(ctx, id, ch)
	if err != nil {
		return nil, err
	}
	s.Record(ctx, id, models.EventAdminChangedUser, client, joinDetail(changed, actor))
	return updated, nil
}

// EndUserSessions ends every session of user id, with the tokens bound to
// them, and says how many (the administrator's "end all sessions"). When
// administrators aim it at themselves, the session they act from is kept:
// they have "log out" for that one.
func (s *Service) EndUserSessions(ctx context.Context, actor *Caller, id uint64, client Client) (int64, error) {
	if _, err := s.store.UserByID(ctx, id); err != nil {
		return 0, err
	}
	keep := ""
	if actor.User.ID == id {
		keep = actor.Session.PublicID
	}
	n, err := s.store.DeleteUserSessions(ctx, id, keep)
	if err != nil {
		return 0, err
	}
	s.Record(ctx, id, models.EventSessionsRevoked, client, joinDetail([]string{sessionsEnded(n, false)}, actor))
	return n, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
