"""Create an admin user when none exists, printing a random password once."""

import os
import secrets
import string

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create a superuser 'admin' with a random password when no superuser exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--token-file", help="also write an API token for the admin to this file")

    def handle(self, *args, username, token_file, **options):
        if not username.strip():
            raise CommandError("--username: a user name, not an empty one")
        User = get_user_model()
        admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        if admin is None:
            # 16 letters and digits: easy to copy from a terminal (no "-" or "_" at a word's edge).
            password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))
            admin = User.objects.create_superuser(username=username, email="", password=password)
            bar = "=" * 64
            self.stdout.write(
                f"{bar}\n  Admin user created (shown once; change it in /admin/):\n"
                f"    username: {username}\n    password: {password}\n{bar}"
            )
        else:
            self.stdout.write(f"Admin user exists: {admin.get_username()}")
        if token_file:
            token, _ = Token.objects.get_or_create(user=admin)
            # Created 600 (owner only) and made 600 if it existed: the token is the admin's password.
            try:
                fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except OSError as exc:
                raise CommandError(f"--token-file {token_file}: {exc.strerror}") from None
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(token.key)
