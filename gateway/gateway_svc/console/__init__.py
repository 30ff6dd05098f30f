"""The officers' console (控制台): server-rendered pages in Chinese, with their styles and scripts served from
here (no CDN, no external font), behind the same sign-in as the API (the session cookie)."""
