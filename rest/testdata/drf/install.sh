#!/bin/sh
# install.sh: the Debian packages the service runs on (Django 3.2, Django REST
# framework 3.14, django-filter 23.1, gunicorn), from apt only. Does nothing
# when they are all installed already, since apt-get update alone takes a
# while; run as root.
set -eu
PACKAGES="python3-django python3-djangorestframework python3-django-filters gunicorn"
missing=""
for p in $PACKAGES; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "installed already:$(printf ' %s' $PACKAGES)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing
