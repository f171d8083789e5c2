// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {ISessionManager} from "./interfaces/ISessionManager.sol";
import {EmptyField, InvalidModulus, UnknownOrg, ZeroAddress} from "./utils/Errors.sol";

/// @title SessionManager
/// @notice The public record of SPDZ-style MPC sessions among consortium orgs: who takes part,
/// what job, the preprocessing commitments, input and output commitments, every checkpoint
/// (agreeing transcript digests and a passing batched MAC check) and the result.
/// @dev Life cycle of a session:
///   Opened --acceptSession (all orgs, same paramsHash)--> Accepted --commitPreprocessing-->
///   Preprocessed --(checkpoint passes: sacrifice checked)--> --commitInput (all orgs)-->
///   Computing --(checkpoint passes: output allowed)--> --commitOutput, revealOutput (all orgs)-->
///   OutputRevealed --(checkpoint passes)--> Finalised.
///   Any live session can become Aborted. Recording an abort never reverts: a failed check, a
///   participant's abort (which must carry a claim other than None) or an expired deadline is
///   recorded on-chain. Every state change emits StateChanged.
///
///   Session parameters (job hash, participants, modulus, preprocessing service, deadline,
///   output length) are fixed at opening and bound, with the chain id, this contract's address
///   and the session id, into `paramsHash`. Every participant checks the parameters off-chain
///   (docs/protocols.md, "Session parameters") and accepts that exact hash; the service may commit
///   preprocessing only after all have accepted. The contract itself enforces: registered,
///   distinct orgs (2 to MAX_PARTICIPANTS); a modulus on the consortium's allow-list (primality
///   is the admin's and the peers' concern, not the contract's); a registered service that is
///   not a participant; a deadline at most MAX_SESSION_DURATION ahead; 1 to MAX_OUTPUTS outputs.
///
///   Commitments are domain-separated: sigma commitments are
///   keccak256(abi.encode(sigma, salt, org, chainid, manager, sessionId, uint256(checkpoint)))
///   and output commitments keccak256(abi.encode(shares, salt, org, chainid, manager,
///   sessionId)), so none can be replayed on another chain, contract, session or checkpoint.
///   A reveal that does not match its commitment is recorded as evidence (SigmaRejected,
///   OutputRejected, carrying the revealed values) before the session aborts with that org as
///   the culprit.
///
///   A checkpoint has two rounds: every participant commits (digest, sigma commitment); when
///   all digests agree the reveal round opens; every participant reveals sigma; the checkpoint
///   passes when the sigmas sum to zero mod the session's modulus.
///
///   Error conventions: `WrongState(expected, actual)` names the state the call needs. The
///   checkpoint functions are allowed in several states (Preprocessed, Computing, OutputRevealed)
///   and the only live states in which they are not are Opened and Accepted; they report
///   `WrongState(Preprocessed, actual)`, i.e. the earliest state in which they are allowed.
///   A call in the right state but at the wrong moment within it reverts `WrongPhase()`.
///   A vector with a bounded length reports the bound it violates: `commitPreprocessing` with no
///   counts or more than 64 reverts `LengthMismatch(1, 0)` or `LengthMismatch(64, length)`;
///   `revealOutput` with another length than the session's outputLength reverts
///   `LengthMismatch(outputLength, length)`.
///   Checks run in this order: session exists, is not closed, deadline not passed, caller's role,
///   state, phase, not yet submitted, arguments; the caller's role is checked against the
///   registry at every call, so an org (or the service) offboarded mid-session cannot act in it
///   (`UnknownOrg`, `NotAService`). `openSession` checks, in order: caller,
///   participants (count, then each registered and distinct), modulus (odd and at least 3, then
///   allow-listed), preprocessing service
///   (nonzero, not a participant, registered), deadline, output length.
contract SessionManager is ISessionManager {
    /// @dev Packed: the per-round counters fit in uint8 because of MAX_PARTICIPANTS.
    struct Session {
        bytes32 jobHash;
        uint256 modulus;
        address preprocessor;
        uint64 deadline;
        uint32 outputLength;
        State state;
        bool sacrificeChecked;
        bool outputAllowed;
        bool revealOpen;
        bool digestMismatch;
        uint32 checkpointCount;
        uint8 acceptCount;
        uint8 cpCommits;
        uint8 cpReveals;
        uint8 inputCount;
        uint8 outputCommits;
        uint8 outputReveals;
        bytes32 cpDigest;
        uint256 sigmaSum;
        AbortReason abortReason;
        address abortBy;
        uint32 abortCheckpoint;
        AbortClaim abortClaim;
        address abortCulprit;
        bytes32 paramsHash;
        address[] participants;
    }

    /// @inheritdoc ISessionManager
    uint32 public constant MAX_OUTPUTS = 64;
    /// @inheritdoc ISessionManager
    uint256 public constant MAX_PARTICIPANTS = 32;
    /// @inheritdoc ISessionManager
    uint64 public constant MAX_SESSION_DURATION = 7 days;
    /// @dev The most entries of a preprocessing material-count vector.
    uint256 internal constant MAX_COUNTS = 64;

    /// @inheritdoc ISessionManager
    IConsortium public immutable consortium;

    /// @inheritdoc ISessionManager
    uint256 public sessionCount;

    mapping(uint256 id => Session) private _sessions;
    mapping(uint256 id => mapping(address org => bool)) private _isParticipant;
    mapping(uint256 id => mapping(address org => bool)) private _accepted;
    mapping(uint256 id => mapping(address org => bytes32)) private _batchHashes;
    mapping(uint256 id => mapping(uint32 cp => mapping(address org => bytes32)))
        private _sigmaCommitments;
    mapping(uint256 id => mapping(uint32 cp => mapping(address org => bool))) private _sigmaRevealed;
    mapping(uint256 id => mapping(address org => bytes32)) private _inputCommitments;
    mapping(uint256 id => mapping(address org => bytes32)) private _outputCommitments;
    mapping(uint256 id => mapping(address org => bool)) private _outputRevealed;
    mapping(uint256 id => uint256[]) private _outputSums;

    /// @param consortium_ The consortium registry.
    constructor(address consortium_) {
        if (consortium_ == address(0)) revert ZeroAddress();
        consortium = IConsortium(consortium_);
    }

    // ---------------------------------------------------------------- session set-up

    /// @inheritdoc ISessionManager
    function openSession(
        bytes32 jobHash,
        address[] calldata participants,
        uint256 modulus,
        address preprocessor,
        uint64 deadline,
        uint32 outputLength
    ) external returns (uint256 sessionId) {
        if (msg.sender != consortium.admin() && !consortium.isOrg(msg.sender)) {
            revert NotAuthorized(msg.sender);
        }
        _checkParticipants(participants);
        if (modulus < 3 || modulus % 2 == 0) revert InvalidModulus(modulus);
        if (!consortium.isAllowedModulus(modulus)) revert ModulusNotAllowed(modulus);
        if (preprocessor == address(0)) revert ZeroAddress();
        for (uint256 i = 0; i < participants.length; ++i) {
            if (participants[i] == preprocessor) revert ServiceIsParticipant(preprocessor);
        }
        if (!consortium.isService(preprocessor)) revert NotAService(preprocessor);
        // A block producer can shift block.timestamp by seconds; deadlines are hours to days.
        // slither-disable-next-line timestamp
        if (deadline <= block.timestamp || deadline > block.timestamp + MAX_SESSION_DURATION) {
            revert InvalidDeadline(deadline);
        }
        if (outputLength == 0 || outputLength > MAX_OUTPUTS) {
            revert InvalidOutputLength(outputLength);
        }

        sessionId = ++sessionCount;
        bytes32 paramsHash = keccak256(
            abi.encode(
                block.chainid,
                address(this),
                sessionId,
                jobHash,
                participants,
                modulus,
                preprocessor,
                deadline,
                outputLength
            )
        );
        Session storage s = _sessions[sessionId];
        s.jobHash = jobHash;
        s.modulus = modulus;
        s.preprocessor = preprocessor;
        s.deadline = deadline;
        s.outputLength = outputLength;
        s.state = State.Opened;
        s.paramsHash = paramsHash;
        s.participants = participants;
        for (uint256 i = 0; i < participants.length; ++i) {
            _isParticipant[sessionId][participants[i]] = true;
        }
        emit SessionOpened(
            sessionId,
            jobHash,
            participants,
            modulus,
            preprocessor,
            deadline,
            outputLength,
            paramsHash
        );
        emit StateChanged(sessionId, State.Opened);
    }

    /// @inheritdoc ISessionManager
    function acceptSession(uint256 sessionId, bytes32 paramsHash) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Opened) revert WrongState(State.Opened, s.state);
        if (_accepted[sessionId][msg.sender]) revert AlreadySubmitted(msg.sender);
        bytes32 expected = s.paramsHash;
        if (paramsHash != expected) revert ParamsMismatch(expected, paramsHash);

        _accepted[sessionId][msg.sender] = true;
        uint8 count = s.acceptCount + 1;
        s.acceptCount = count;
        emit SessionAccepted(sessionId, msg.sender, paramsHash);
        if (count == s.participants.length) _setState(sessionId, s, State.Accepted);
    }

    /// @inheritdoc ISessionManager
    function commitPreprocessing(
        uint256 sessionId,
        bytes32[] calldata batchHashes,
        uint256[] calldata counts
    ) external {
        Session storage s = _live(sessionId);
        if (msg.sender != s.preprocessor) revert NotPreprocessor(msg.sender);
        if (!consortium.isService(msg.sender)) revert NotAService(msg.sender);
        if (s.state != State.Accepted) revert WrongState(State.Accepted, s.state);
        address[] storage parts = s.participants;
        uint256 n = parts.length;
        if (batchHashes.length != n) revert LengthMismatch(n, batchHashes.length);
        for (uint256 i = 0; i < n; ++i) {
            if (batchHashes[i] == bytes32(0)) revert EmptyField("batchHash");
        }
        if (counts.length == 0) revert LengthMismatch(1, 0);
        if (counts.length > MAX_COUNTS) revert LengthMismatch(MAX_COUNTS, counts.length);

        for (uint256 i = 0; i < n; ++i) {
            address org = parts[i];
            _batchHashes[sessionId][org] = batchHashes[i];
            emit PreprocessingCommitted(sessionId, org, batchHashes[i]);
        }
        emit MaterialCounted(sessionId, counts);
        _setState(sessionId, s, State.Preprocessed);
    }

    // ---------------------------------------------------------------- checkpoints

    /// @inheritdoc ISessionManager
    function commitCheckpoint(uint256 sessionId, bytes32 digest, bytes32 sigmaCommitment) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        State st = s.state;
        if (st == State.Opened || st == State.Accepted) revert WrongState(State.Preprocessed, st);
        if (
            s.revealOpen ||
            (st == State.Preprocessed && s.inputCount != 0) ||
            (st == State.Computing && s.outputCommits != 0)
        ) revert WrongPhase();
        uint32 cp = s.checkpointCount;
        if (_sigmaCommitments[sessionId][cp][msg.sender] != bytes32(0)) {
            revert AlreadySubmitted(msg.sender);
        }
        if (digest == bytes32(0)) revert EmptyField("digest");
        if (sigmaCommitment == bytes32(0)) revert EmptyField("sigmaCommitment");

        _sigmaCommitments[sessionId][cp][msg.sender] = sigmaCommitment;
        uint8 commits = s.cpCommits;
        if (commits == 0) {
            s.cpDigest = digest;
        } else if (digest != s.cpDigest) {
            s.digestMismatch = true;
        }
        commits += 1;
        s.cpCommits = commits;
        emit CheckpointCommitted(sessionId, cp, msg.sender, digest, sigmaCommitment);

        if (commits == s.participants.length) {
            if (s.digestMismatch) {
                _abort(sessionId, s, AbortReason.DigestMismatch, address(0), AbortClaim.None);
            } else {
                s.revealOpen = true;
                emit DigestsAgreed(sessionId, cp, s.cpDigest);
            }
        }
    }

    /// @inheritdoc ISessionManager
    function revealSigma(uint256 sessionId, uint256 sigma, bytes32 salt) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        State st = s.state;
        if (st == State.Opened || st == State.Accepted) revert WrongState(State.Preprocessed, st);
        if (!s.revealOpen) revert WrongPhase();
        uint32 cp = s.checkpointCount;
        if (_sigmaRevealed[sessionId][cp][msg.sender]) revert AlreadySubmitted(msg.sender);
        uint256 modulus = s.modulus;
        if (sigma >= modulus) revert ValueOutOfField(sigma);

        bytes32 expected = keccak256(
            abi.encode(
                sigma,
                salt,
                msg.sender,
                block.chainid,
                address(this),
                sessionId,
                uint256(cp)
            )
        );
        if (expected != _sigmaCommitments[sessionId][cp][msg.sender]) {
            emit SigmaRejected(sessionId, cp, msg.sender, sigma, salt);
            _abort(sessionId, s, AbortReason.SigmaMismatch, msg.sender, AbortClaim.None);
            return;
        }

        _sigmaRevealed[sessionId][cp][msg.sender] = true;
        uint256 sum = addmod(s.sigmaSum, sigma, modulus);
        uint8 reveals = s.cpReveals + 1;
        emit SigmaRevealed(sessionId, cp, msg.sender, sigma, salt);

        if (reveals < s.participants.length) {
            s.sigmaSum = sum;
            s.cpReveals = reveals;
            return;
        }
        if (sum != 0) {
            _abort(sessionId, s, AbortReason.MacCheckFailed, address(0), AbortClaim.None);
            return;
        }
        // Checkpoint passed: reset the round for the next checkpoint.
        s.sigmaSum = 0;
        s.cpReveals = 0;
        s.cpCommits = 0;
        s.revealOpen = false;
        s.checkpointCount = cp + 1;
        emit CheckpointPassed(sessionId, cp, s.cpDigest);

        if (st == State.Preprocessed) {
            s.sacrificeChecked = true;
        } else if (st == State.Computing) {
            s.outputAllowed = true;
        } else {
            s.state = State.Finalised;
            emit SessionFinalised(sessionId, _outputSums[sessionId]);
            emit StateChanged(sessionId, State.Finalised);
        }
    }

    // ---------------------------------------------------------------- input and output

    /// @inheritdoc ISessionManager
    function commitInput(uint256 sessionId, bytes32 commitment) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Preprocessed) revert WrongState(State.Preprocessed, s.state);
        if (!s.sacrificeChecked) revert SacrificeNotChecked();
        if (s.cpCommits != 0 || s.revealOpen) revert WrongPhase();
        if (_inputCommitments[sessionId][msg.sender] != bytes32(0)) {
            revert AlreadySubmitted(msg.sender);
        }
        if (commitment == bytes32(0)) revert EmptyField("commitment");

        _inputCommitments[sessionId][msg.sender] = commitment;
        uint8 count = s.inputCount + 1;
        s.inputCount = count;
        emit InputCommitted(sessionId, msg.sender, commitment);
        if (count == s.participants.length) _setState(sessionId, s, State.Computing);
    }

    /// @inheritdoc ISessionManager
    function commitOutput(uint256 sessionId, bytes32 commitment) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Computing) revert WrongState(State.Computing, s.state);
        if (!s.outputAllowed) revert MacCheckRequired();
        if (s.cpCommits != 0 || s.revealOpen) revert WrongPhase();
        if (_outputCommitments[sessionId][msg.sender] != bytes32(0)) {
            revert AlreadySubmitted(msg.sender);
        }
        if (commitment == bytes32(0)) revert EmptyField("commitment");

        _outputCommitments[sessionId][msg.sender] = commitment;
        s.outputCommits += 1;
        emit OutputCommitted(sessionId, msg.sender, commitment);
    }

    /// @inheritdoc ISessionManager
    function revealOutput(uint256 sessionId, uint256[] calldata shares, bytes32 salt) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Computing) revert WrongState(State.Computing, s.state);
        uint256 n = s.participants.length;
        if (s.outputCommits != n) revert WrongPhase();
        if (_outputRevealed[sessionId][msg.sender]) revert AlreadySubmitted(msg.sender);
        uint256 len = shares.length;
        uint256 outputLength = s.outputLength;
        if (len != outputLength) revert LengthMismatch(outputLength, len);
        uint256 modulus = s.modulus;
        for (uint256 i = 0; i < len; ++i) {
            if (shares[i] >= modulus) revert ValueOutOfField(shares[i]);
        }

        bytes32 expected = keccak256(
            abi.encode(shares, salt, msg.sender, block.chainid, address(this), sessionId)
        );
        if (expected != _outputCommitments[sessionId][msg.sender]) {
            emit OutputRejected(sessionId, msg.sender, shares, salt);
            _abort(sessionId, s, AbortReason.OutputMismatch, msg.sender, AbortClaim.None);
            return;
        }

        _outputRevealed[sessionId][msg.sender] = true;
        uint256[] storage sums = _outputSums[sessionId];
        uint8 reveals = s.outputReveals;
        if (reveals == 0) {
            for (uint256 i = 0; i < len; ++i) sums.push(shares[i]);
        } else {
            for (uint256 i = 0; i < len; ++i) sums[i] = addmod(sums[i], shares[i], modulus);
        }
        reveals += 1;
        s.outputReveals = reveals;
        emit OutputRevealed(sessionId, msg.sender, shares, salt);
        if (reveals == n) _setState(sessionId, s, State.OutputRevealed);
    }

    // ---------------------------------------------------------------- aborts

    /// @inheritdoc ISessionManager
    function abort(uint256 sessionId, AbortClaim claim) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (claim == AbortClaim.None) revert EmptyField("claim");

        _abort(sessionId, s, AbortReason.ParticipantAbort, address(0), claim);
    }

    /// @inheritdoc ISessionManager
    function abortExpired(uint256 sessionId) external {
        Session storage s = _existing(sessionId);
        if (_closed(s.state)) revert SessionClosed(sessionId, s.state);
        // Seconds of block.timestamp drift only move the expiry by seconds (see openSession).
        // slither-disable-next-line timestamp
        if (block.timestamp <= s.deadline) revert DeadlineNotPassed();

        _abort(sessionId, s, AbortReason.Expired, address(0), AbortClaim.None);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ISessionManager
    function getSession(
        uint256 sessionId
    )
        external
        view
        returns (
            bytes32 jobHash,
            address preprocessor,
            uint256 modulus,
            uint64 deadline,
            uint32 outputLength,
            State state,
            uint32 checkpointCount,
            address[] memory participants,
            bytes32 paramsHash
        )
    {
        Session storage s = _existing(sessionId);
        return (
            s.jobHash,
            s.preprocessor,
            s.modulus,
            s.deadline,
            s.outputLength,
            s.state,
            s.checkpointCount,
            s.participants,
            s.paramsHash
        );
    }

    /// @inheritdoc ISessionManager
    function isAccepted(uint256 sessionId, address org) external view returns (bool) {
        _existing(sessionId);
        return _accepted[sessionId][org];
    }

    /// @inheritdoc ISessionManager
    function getResult(uint256 sessionId) external view returns (uint256[] memory) {
        Session storage s = _existing(sessionId);
        if (s.state != State.Finalised) return new uint256[](0);
        return _outputSums[sessionId];
    }

    /// @inheritdoc ISessionManager
    function getAbort(
        uint256 sessionId
    )
        external
        view
        returns (
            AbortReason reason,
            address by,
            address culprit,
            uint32 checkpoint,
            AbortClaim claim
        )
    {
        Session storage s = _existing(sessionId);
        return (s.abortReason, s.abortBy, s.abortCulprit, s.abortCheckpoint, s.abortClaim);
    }

    /// @inheritdoc ISessionManager
    function batchHash(uint256 sessionId, address org) external view returns (bytes32) {
        _existing(sessionId);
        return _batchHashes[sessionId][org];
    }

    // ---------------------------------------------------------------- internals

    /// @dev Reverts unless `participants` are 2 to MAX_PARTICIPANTS distinct registered orgs.
    function _checkParticipants(address[] calldata participants) private view {
        uint256 n = participants.length;
        if (n < 2) revert TooFewParticipants();
        if (n > MAX_PARTICIPANTS) revert TooManyParticipants();
        for (uint256 i = 0; i < n; ++i) {
            address p = participants[i];
            // `consortium` is the immutable registry set at deployment, a view call; at most
            // MAX_PARTICIPANTS calls, and a revert only fails this openSession.
            // slither-disable-next-line calls-loop
            if (!consortium.isOrg(p)) revert UnknownOrg(p);
            for (uint256 j = 0; j < i; ++j) {
                if (participants[j] == p) revert DuplicateParticipant(p);
            }
        }
    }

    function _existing(uint256 sessionId) private view returns (Session storage s) {
        if (sessionId == 0 || sessionId > sessionCount) revert UnknownSession(sessionId);
        return _sessions[sessionId];
    }

    /// @dev An existing session that is neither closed nor past its deadline.
    function _live(uint256 sessionId) private view returns (Session storage s) {
        s = _existing(sessionId);
        if (_closed(s.state)) revert SessionClosed(sessionId, s.state);
        // Seconds of block.timestamp drift only move the expiry by seconds (see openSession).
        // slither-disable-next-line timestamp
        if (block.timestamp > s.deadline) revert DeadlinePassed(sessionId, s.deadline);
    }

    /// @dev A participant of the session that is still an org: one offboarded mid-session
    /// cannot act in it (the others abort the session, or it expires).
    function _requireParticipant(uint256 sessionId) private view {
        if (!_isParticipant[sessionId][msg.sender]) revert NotParticipant(msg.sender);
        if (!consortium.isOrg(msg.sender)) revert UnknownOrg(msg.sender);
    }

    function _closed(State state) private pure returns (bool) {
        return state == State.Finalised || state == State.Aborted;
    }

    function _setState(uint256 sessionId, Session storage s, State state) private {
        s.state = state;
        emit StateChanged(sessionId, state);
    }

    /// @dev Records an abort (sent by msg.sender). Never reverts.
    function _abort(
        uint256 sessionId,
        Session storage s,
        AbortReason reason,
        address culprit,
        AbortClaim claim
    ) private {
        uint32 cp = s.checkpointCount;
        s.abortReason = reason;
        s.abortBy = msg.sender;
        s.abortCheckpoint = cp;
        s.abortClaim = claim;
        s.abortCulprit = culprit;
        delete _outputSums[sessionId];
        emit SessionAborted(sessionId, reason, msg.sender, culprit, cp, claim);
        _setState(sessionId, s, State.Aborted);
    }
}
