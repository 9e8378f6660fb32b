package handlers

import (
	"errors"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"
)

// bind reads a request body into dst from JSON, a URL-encoded form or
// multipart form data; any other body type is 415 (Echo would also read
// XML). An empty body binds nothing, so required fields are checked by
// validation (422), not here.
func bind(c echo.Context, dst any) error {
	req := c.Request()
	if req.ContentLength != 0 {
		mediaType, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
		switch mediaType {
		case echo.MIMEApplicationJSON, echo.MIMEApplicationForm, echo.MIMEMultipartForm:
		default:
			return echo.ErrUnsupportedMediaType
		}
	}
	if err := (&echo.DefaultBinder{}).BindBody(c, dst); err != nil {
		// A chunked body has no Content-Length for BodyLimit to refuse up
		// front; its reader stops at the limit, and Echo's binder would
		// report that as a 400.
		var tooLarge *http.MaxBytesError
		var inner *echo.HTTPError
		if errors.As(err, &tooLarge) || (errors.As(err, &inner) && errors.As(inner.Internal, &inner) && inner.Code == http.StatusRequestEntityTooLarge) {
			return echo.ErrStatusRequestEntityTooLarge
		}
		return err
	}
	return nil
}
