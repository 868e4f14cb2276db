"""Service defaults shared by every Newsflow service (the only code that crosses service lines)."""
