package cli

import "github.com/spf13/cobra"

// examples holds each command's Example text, by command path, in one place
// so that a test can hold every command to having one.
var examples = map[string]string{
	"kr agent":           "  kr agent status\n  kr agent stop",
	"kr agent start":     "  kr agent start && kr unlock\n  kr agent start --confirm --lock-on screen,sleep",
	"kr agent log":       "  kr agent log\n  kr agent log --json | jq '.[] | select(.decision == \"denied\")'",
	"kr agent allow":     "  kr agent allow /usr/bin/git        # git reads without being asked\n  kr agent allow /usr/bin/psql db    # psql reads db and db/... only",
	"kr agent stop":      "  kr agent stop    # forgets every unlocked key and cached value",
	"kr agent status":    "  kr agent status --json\n  kr agent status >/dev/null || kr unlock",
	"kr agent serve":     "  kr agent serve   # in the foreground; kr starts it itself when needed",
	"kr allow":           "  kr allow                 # trust ./.kr.env as it is now\n  kr allow --revoke\n  kr allow --deny          # leave this content out, without a word",
	"kr aws-credentials": "  kr aws-credentials aws/work   # as credential_process = kr aws-credentials aws/work",
	"kr backend":         "  kr backend               # which store service kr uses, and why\n  kr backend file          # keep this service's secrets in the file vault\n  kr --service work backend secretservice",
	"kr completion":      "  source <(kr completion bash)\n  kr completion fish > ~/.config/fish/completions/kr.fish",
	"kr cp":              "  kr cp db/prod db/prod-backup",
	"kr doctor":          "  kr doctor\n  kr doctor --json",
	"kr env":             "  eval \"$(kr env -e PGPASSWORD=db/prod)\"\n  kr env --env-file deploy.env --format dotenv > .env.local",
	"kr exec":            "  kr exec -e PGPASSWORD=db/prod -- psql -h db.internal\n  kr exec --env-file deploy.env --mask -- ./deploy.sh",
	"kr export":          "  kr export app/ > app.env\n  kr export --format json app/ | jq .\n  kr export --keep-names --format json | kr --vault ~/new-vault import -",
	"kr get":             "  kr get db/prod\n  PGPASSWORD=\"$(kr get db/prod)\" psql\n  kr get --json api/token",
	"kr identity":        "  kr identity                      # your age1... key; asks for a passphrase the first time\n  KR_IDENTITY_FILE=ci.key kr identity",
	"kr identity bind":   "  kr identity bind os              # the login keyring opens your identity (opt-in)\n  kr identity bind tpm --pin       # sealed to this machine's TPM, with a PIN\n  kr identity bind plugin yubikey-identity.txt",
	"kr identity unbind": "  kr identity unbind os            # the passphrase and recovery code keep working",
	"kr identity status": "  kr identity status               # which bindings, and which unlock was used last",

	"kr inject":                  "  kr inject -i config.yml.tpl -o config.yml\n  kr inject -i - < app.tpl | kubectl apply -f -",
	"kr otp":                     "  kr otp otp/github\n  kr otp --json otp/aws",
	"kr read":                    "  kr read kr://db/prod\n  kr read -n kr://api/token > token.txt",
	"kr import":                  "  kr import --prefix app/ .env\n  kr import --format json - < secrets.json",
	"kr init":                    "  kr init                          # asks for a passphrase, prints the recovery code\n  kr --vault ~/team-vault init",
	"kr kube-credential":         "  kr kube-credential k8s/prod-token\n  kr kube-credential --client-certificate k8s/dev.crt --client-key k8s/dev.key",
	"kr lock":                    "  kr lock",
	"kr ls":                      "  kr ls\n  kr ls db/\n  kr ls -l --json",
	"kr mount":                   "  kr mount team ~/team-vault      # team/... lives in that vault from now on\n  kr mount cloud aws-secretsmanager:us-east-1   # cloud/NAME reads the secret NAME\n  kr mount                       # list the mounts",
	"kr mv":                      "  kr mv db/old db/new\n  kr mv db/prod team/db/prod      # into the vault mounted at team\n  kr mv --from-backend file db/prod db/prod",
	"kr passwd":                  "  kr passwd",
	"kr recover":                 "  kr recover                       # asks for the recovery code, then a new passphrase",
	"kr rm":                      "  kr rm db/old api/stale",
	"kr setup":                   "  kr setup git --apply\n  kr setup docker --apply",
	"kr setup git":               "  kr setup git             # print the configuration\n  kr setup git --apply     # apply it (again: no change)\n  kr setup git --replace   # replace another credential helper",
	"kr setup docker":            "  kr setup docker            # prints what it would write\n  kr setup docker --apply",
	"kr setup aws":               "  kr setup aws --profile work aws/work --apply",
	"kr setup kube":              "  kr setup kube --user prod k8s/prod-token --apply",
	"kr set":                     "  kr set db/prod                   # hidden prompt, asked twice\n  printf %s \"$TOKEN\" | kr set api/token\n  kr set --generate --length 40 db/new",
	"kr unmount":                 "  kr unmount team                 # the vault keeps its secrets",
	"kr ssh":                     "  kr ssh keygen work && eval \"$(kr ssh env)\" && ssh host",
	"kr ssh add":                 "  kr ssh add ~/.ssh/id_ed25519\n  kr ssh add --name deploy --confirm deploy_key",
	"kr ssh env":                 "  eval \"$(kr ssh env)\"\n  kr ssh env --format fish | source",
	"kr ssh keygen":              "  kr ssh keygen work\n  kr ssh keygen --type ecdsa --confirm --lifetime 8h careful",
	"kr ssh ls":                  "  kr ssh ls",
	"kr ssh rm":                  "  kr ssh rm work",
	"kr unlock":                  "  kr unlock --ttl 1h\n  kr unlock --cache api/token --ttl 30m",
	"kr vault":                   "  kr vault init ~/team-vault",
	"kr vault join":              "  kr vault join git@host:team/vault.git ~/team-vault --trust 3f2a:09bc:77d1:e045 --mount team",
	"kr vault init":              "  kr vault init ~/team-vault --mount team && kr set team/db/prod",
	"kr vault recipients":        "  kr vault recipients ls\n  kr vault recipients accept 3f2a:09bc:77d1:e045",
	"kr vault recipients ls":     "  kr vault recipients ls           # name, fingerprint, key, accepted or pending",
	"kr vault recipients accept": "  kr vault recipients accept       # lists what is pending\n  kr vault recipients accept --yes # trust on first use: check the fingerprints first",
	"kr vault recipients add":    "  kr vault recipients add bob \"$(cat bob.pub)\"   # bob.pub: what 'kr identity' printed for Bob",
	"kr vault recipients rm":     "  kr vault recipients rm bob > rotate.txt   # the secrets bob could read",
	"kr vault sync":              "  kr vault sync                    # commit, git pull --rebase, settle conflicts, re-encrypt, push",
	"kr vault verify":            "  kr vault verify                  # every signature you can read, checked\n  kr vault verify --adopt db/prod  # sign a value you have looked at",
	"kr vault upgrade":           "  kr vault upgrade                 # sign a vault an older kr made",
	"kr vault scope":             "  kr vault scope set prod alice carol\n  kr vault scope ls",
	"kr vault scope ls":          "  kr vault scope ls                # prod/  alice 3f2a:..., carol 9e01:...",
	"kr vault scope set":         "  kr vault scope set prod alice carol   # only alice and carol read prod/",
	"kr vault scope accept":      "  kr vault scope accept            # lists scope changes made elsewhere\n  kr vault scope accept prod",
	"kr vault scope rm":          "  kr vault scope rm prod           # prod/ goes back to every member",
	"kr version":                 "  kr version",
}

// addExamples sets the Example of every command that has one above.
func addExamples(c *cobra.Command) {
	if ex, ok := examples[c.CommandPath()]; ok && c.Example == "" {
		c.Example = ex
	}
	for _, sub := range c.Commands() {
		addExamples(sub)
	}
}
