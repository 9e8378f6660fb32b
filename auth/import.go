package auth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strings"
	"time"

	"gatehouse/models"
)

// ImportedUser is one line of a user import or export (contract §12,
// JSON Lines): only email is required. PasswordHash is empty (no
// password: the account logs in through a provider or a reset link), an
// argon2id PHC string, or a bcrypt hash ($2a$, $2b$, $2y$), which the
// first good login replaces with argon2id (bcrypt.go). Scopes absent (or
// null) are DefaultScopes; [] is none. CreatedAt absent is the time of
// the import.
type ImportedUser struct {
	Email         string     `json:"email"`
	FullName      string     `json:"full_name"`
	PasswordHash  string     `json:"password_hash"`
	Scopes        *[]string  `json:"scopes"`
	EmailVerified bool       `json:"email_verified"`
	Disabled      bool       `json:"disabled"`
	CreatedAt     *time.Time `json:"created_at"`
}

// ImportResult counts what an import did, or with a dry run would do.
type ImportResult struct {
	Imported, Skipped int
}

// maxImportLine bounds one line of an import: a user is a few hundred
// bytes; a longer line is refused (and skipped) rather than buffered.
const maxImportLine = 64 << 10

// ImportUsers reads JSON Lines of ImportedUser from r and adds the users
// (contract §12). A line that is not valid — not one JSON object, an
// unknown field, a bad email, name, scope or hash — or whose email an
// account already has, or an earlier line brought, is reported to skip
// with its number (from 1) and why, and skipped; blank lines are ignored.
// The rest go in batches of models.ImportBatch, each one transaction, so
// a million lines take minutes. With dryRun every check is made and
// nothing is written. An error (the database, reading r) stops the
// import; the batches already written stay.
//
// The rules are the ones every account meets (ValidateEmail,
// validateName, ParseScopes); an import's password hash is taken as it
// is, since the password is not known.
func (s *Service) ImportUsers(ctx context.Context, r io.Reader, dryRun bool, skip func(line int, why string)) (ImportResult, error) {
	var (
		res   ImportResult
		batch []models.User
		lines []int // of batch's users
		seen  = newEmailSet()
		now   = s.now().UTC()
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		taken, err := s.store.ImportUsers(ctx, batch, dryRun)
		if err != nil {
			return err
		}
		for i, u := range batch {
			if taken[u.Email] {
				skip(lines[i], "email: "+models.ErrEmailTaken.Detail)
				res.Skipped++
			} else {
				res.Imported++
			}
		}
		batch, lines = batch[:0], lines[:0]
		return nil
	}
	in := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := readLine(in)
		if errors.Is(err, io.EOF) && line == nil {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errLineTooLong) {
			return res, fmt.Errorf("read line %d: %w", n, err)
		}
		if errors.Is(err, errLineTooLong) {
			skip(n, fmt.Sprintf("longer than %d bytes", maxImportLine))
			res.Skipped++
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		u, why := importedUser(line, now)
		if why == "" {
			if first, dup := seen.add(u.Email, n); dup {
				why = fmt.Sprintf("email: the same address as line %d", first)
			}
		}
		if why != "" {
			skip(n, why)
			res.Skipped++
			continue
		}
		batch, lines = append(batch, u), append(lines, n)
		if len(batch) == models.ImportBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	return res, flush()
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its ending; a line longer than
// maxImportLine is read to its end, dropped, and errLineTooLong.
func readLine(in *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, more, err := in.ReadLine()
		if len(line)+len(part) <= maxImportLine {
			line = append(line, part...)
		} else {
			for more && err == nil {
				_, more, err = in.ReadLine()
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return []byte{}, errLineTooLong
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return line, nil
			}
			return nil, err
		}
		if !more {
			return line, nil
		}
	}
}

// importedUser reads and checks one line; it returns the user to store,
// or why the line is skipped.
func importedUser(line []byte, now time.Time) (models.User, string) {
	var in ImportedUser
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields() // a misspelt field is an error, not a silent default
	if err := dec.Decode(&in); err != nil {
		return models.User{}, "not a user object: " + jsonProblem(err)
	}
	if dec.More() {
		return models.User{}, "more than one JSON value on the line"
	}
	var why []string
	if msg := ValidateEmail(in.Email); msg != "" {
		why = append(why, "email: "+msg)
	}
	name := strings.TrimSpace(in.FullName)
	if name != "" {
		if msg := validateName(name); msg != "" {
			why = append(why, "full_name: "+msg)
		}
	}
	if msg := checkStoredHash(in.PasswordHash); msg != "" {
		why = append(why, "password_hash: "+msg)
	}
	scopes := DefaultScopes
	if in.Scopes != nil {
		var err error
		if scopes, err = ParseScopes(strings.Join(*in.Scopes, " ")); err != nil {
			why = append(why, fmt.Sprintf("scopes: Unknown scope; choose from %s.", strings.Join(AllScopes, ", ")))
		}
	}
	if len(why) > 0 {
		return models.User{}, strings.Join(why, " ")
	}
	created := now
	if in.CreatedAt != nil && !in.CreatedAt.IsZero() {
		created = in.CreatedAt.UTC()
	}
	return models.User{Email: models.CanonicalEmail(in.Email), FullName: name, PasswordHash: in.PasswordHash,
		Scopes: joinScopes(normalize(scopes)), EmailVerified: in.EmailVerified, Disabled: in.Disabled,
		CreatedAt: created, UpdatedAt: now}, ""
}

// jsonProblem words a decoding error for the report, without Go's
// type names.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("%s has the wrong type", typeErr.Field)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case strings.Contains(err.Error(), "parsing time"):
		return "created_at is not an RFC 3339 time"
	default:
		return "malformed JSON"
	}
}

// emailSet remembers the emails an import has read, and on which line,
// as 64-bit hashes: a million emails in a few tens of MiB. Two different
// emails with one hash (about one chance in 10^13 per pair) would report
// the second as a repeat.
type emailSet struct {
	seed  maphash.Seed
	lines map[uint64]int
}

func newEmailSet() *emailSet {
	return &emailSet{seed: maphash.MakeSeed(), lines: map[uint64]int{}}
}

// add records email at line; when an earlier line had it, it says which.
func (s *emailSet) add(email string, line int) (int, bool) {
	h := maphash.String(s.seed, email)
	if first, ok := s.lines[h]; ok {
		return first, true
	}
	s.lines[h] = line
	return 0, false
}

// ExportUsers writes every account to w as JSON Lines of ImportedUser, in
// id order (contract §12): the format ImportUsers reads, password hashes
// included, so the output is a secret. Provider links, second factors and
// sessions are not part of it. It returns how many it wrote.
func (s *Service) ExportUsers(ctx context.Context, w io.Writer) (int, error) {
	out := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	n := 0
	err := s.EachUser(ctx, func(u *models.User) error {
		scopes := u.ScopeList()
		if scopes == nil {
			scopes = []string{}
		}
		created := u.CreatedAt.UTC()
		n++
		return enc.Encode(ImportedUser{Email: u.Email, FullName: u.FullName, PasswordHash: u.PasswordHash, Scopes: &scopes,
			EmailVerified: u.EmailVerified, Disabled: u.Disabled, CreatedAt: &created})
	})
	if err != nil {
		return n, err
	}
	return n, out.Flush()
}
