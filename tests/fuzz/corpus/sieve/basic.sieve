require ["fileinto", "variables"];
if header :matches "Subject" "*x*" { fileinto "${1}"; } elsif true { keep; } else { discard; }
